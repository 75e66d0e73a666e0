"""CheckList-style behavioural tests: invariance to names and language, directional label changes.

The tests live as data in ``templates/behaviour.json`` (original id/en/ms sentences):

* ``swap_names`` (invariance): swapping countries and officials must not change the label.
* ``paraphrase_id_en_ms`` (invariance): one proposition in three languages gets one label.
* ``add_demand_clause`` (directional): adding "mendesak ... untuk ..." makes the sentence a demand.
* ``meeting_to_denial`` (directional): a party denying a meeting is a position statement.
* ``meeting_to_cancellation`` (directional): a cancelled or refused contact stays a meeting report.

Each test reports a failure rate in [0, 1]; invariance tests also report a flip rate.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kontak_nlp.evaluation._models import run_model

logger = logging.getLogger(__name__)

TEMPLATES_PATH = Path(__file__).parent / "templates" / "behaviour.json"
_MAX_EXAMPLES = 5


@dataclass
class BehaviourResult:
    """The outcome of one behavioural test.

    Attributes:
        name: Test name from the template file.
        kind: ``"invariance"`` or ``"directional"``.
        description: What the test checks.
        n_cases: Templates, paraphrase groups or sentence pairs tested.
        n_failed: Cases that failed.
        failure_rate: ``n_failed / n_cases``.
        flip_rate: Invariance tests: share of variants whose prediction differs from the first one.
        expected: Directional tests: the label the modified sentence must get.
        failures: Up to five failing cases with their texts and predictions.
    """

    name: str
    kind: str
    description: str
    n_cases: int
    n_failed: int
    failure_rate: float
    flip_rate: float | None = None
    expected: str | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BehaviourReport:
    """Results of :func:`run_behaviour_tests` for one model.

    Example:
        >>> report = BehaviourReport(model="m", tests=[])
        >>> BehaviourReport.from_dict(report.to_dict()) == report
        True
    """

    model: str
    tests: list[BehaviourResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def failure_rates(self) -> dict[str, float]:
        """Test name to failure rate."""
        return {test.name: test.failure_rate for test in self.tests}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BehaviourReport:
        """Rebuild from :meth:`to_dict` output."""
        tests = [BehaviourResult(**test) for test in values.get("tests", [])]
        return cls(model=values["model"], tests=tests, skipped=list(values.get("skipped", [])))

    def summary(self) -> str:
        """One line per test: name, kind, failure rate and case count."""
        lines = [f"{'test':<26}{'kind':<13}{'failure':>8}{'flips':>8}{'cases':>7}"]
        for t in self.tests:
            flips = f"{t.flip_rate:.2f}" if t.flip_rate is not None else "-"
            lines.append(f"{t.name:<26}{t.kind:<13}{t.failure_rate:>8.2f}{flips:>8}{t.n_cases:>7}")
        return "\n".join(lines)


def load_templates(source: str | Path | dict[str, Any] | None = None) -> dict[str, Any]:
    """Read and check a behaviour template file (default: the shipped ``behaviour.json``).

    Example:
        >>> [t["name"] for t in load_templates()["tests"]][:2]
        ['swap_names', 'paraphrase_id_en_ms']
    """
    spec = (
        source if isinstance(source, dict) else json.loads(Path(source or TEMPLATES_PATH).read_text("utf-8"))
    )
    for test in spec.get("tests", []):
        kind = test.get("kind")
        needed = {"invariance": ("templates", "groups"), "directional": ("cases",)}.get(kind)
        if needed is None or not any(key in test for key in needed) or "name" not in test:
            raise ValueError(
                f"behaviour test {test.get('name')!r}: needs a name, a kind and {needed or 'cases'}"
            )
        if kind == "directional" and "expected" not in test:
            raise ValueError(f"behaviour test {test['name']!r}: a directional test needs 'expected'")
    return spec


def run_behaviour_tests(
    model: Any,
    *,
    templates: str | Path | dict[str, Any] | None = None,
    n_fills: int = 6,
    seed: int = 0,
    batch_size: int = 32,
    show_progress_bar: bool | None = False,
) -> BehaviourReport:
    """Run every behavioural test on a model (any form :func:`~kontak_nlp.evaluation.evaluate` takes).

    All test sentences are predicted in one call. Directional tests whose expected label is not in
    the model's label set are skipped with a warning.

    Args:
        model: A Classifier, model directory, pipeline or callable ``list[str] -> list[str]``.
        templates: A template file or dict (default: the shipped ``behaviour.json``).
        n_fills: Name fillings per ``swap_names`` template (the first is the reference).
        seed: Seed for choosing the fillings.

    Example:
        >>> report = run_behaviour_tests(lambda texts: ["demand"] * len(texts))
        >>> report.failure_rates["add_demand_clause"], report.failure_rates["swap_names"]
        (0.0, 0.0)
    """
    spec = load_templates(templates)
    rng = np.random.default_rng(seed)
    cases = {test["name"]: _expand(test, spec.get("fillers", {}), n_fills, rng) for test in spec["tests"]}
    texts = list(dict.fromkeys(text for groups in cases.values() for group in groups for text in group))
    output = run_model(model, texts, batch_size=batch_size, show_progress_bar=show_progress_bar)
    predicted = dict(zip(texts, output.predictions))
    report = BehaviourReport(model=output.name)
    for test in spec["tests"]:
        if output.labels is not None and test.get("expected") not in (None, *output.labels):
            logger.warning(
                "skipping behaviour test %r: label %r not in the model", test["name"], test["expected"]
            )
            report.skipped.append(test["name"])
            continue
        report.tests.append(_score(test, cases[test["name"]], predicted))
    return report


def _expand(
    test: dict[str, Any], fillers: dict[str, Any], n_fills: int, rng: np.random.Generator
) -> list[list[str]]:
    """Each case as a list of texts: variants (invariance) or ``[base, modified]`` (directional)."""
    if test["kind"] == "directional":
        return [[case["base"], case["modified"]] for case in test["cases"]]
    if "groups" in test:
        return [[group[lang] for lang in ("id", "en", "ms") if lang in group] for group in test["groups"]]
    return [_fill(template, fillers, n_fills, rng) for template in test["templates"]]


def _fill(
    template: dict[str, Any], fillers: dict[str, Any], n_fills: int, rng: np.random.Generator
) -> list[str]:
    """``n_fills`` distinct fillings of a template's ``{country_a}``-style slots."""
    countries = fillers["country"][template.get("lang", "id")]
    officials = fillers["official"]
    variants: list[str] = []
    for _ in range(20 * n_fills):
        a, b = rng.choice(len(countries), size=2, replace=False)
        c, d = rng.choice(len(officials), size=2, replace=False)
        text = template["text"].format(
            country_a=countries[a], country_b=countries[b], official_a=officials[c], official_b=officials[d]
        )
        if text not in variants:
            variants.append(text)
        if len(variants) == n_fills:
            break
    return variants


def _score(test: dict[str, Any], cases: list[list[str]], predicted: dict[str, str]) -> BehaviourResult:
    failures, flips, variants = [], 0, 0
    for texts in cases:
        labels = [predicted[t] for t in texts]
        if test["kind"] == "directional":
            failed = labels[1] != test["expected"]
        else:
            flips += sum(label != labels[0] for label in labels[1:])
            variants += len(labels) - 1
            failed = len(set(labels)) > 1
        if failed:
            failures.append({"texts": texts, "predicted": labels})
    n = len(cases)
    return BehaviourResult(
        name=test["name"],
        kind=test["kind"],
        description=test.get("description", ""),
        n_cases=n,
        n_failed=len(failures),
        failure_rate=len(failures) / n if n else 0.0,
        flip_rate=(flips / variants if variants else 0.0) if test["kind"] == "invariance" else None,
        expected=test.get("expected"),
        failures=failures[:_MAX_EXAMPLES],
    )
