"""Text renderings of an :class:`EvalReport`: the CLI summary and ``report.md``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kontak_nlp.evaluation.report import EvalReport

_HEADLINE = (("accuracy", "Accuracy"), ("macro_f1", "Macro-F1"), ("weighted_f1", "Weighted-F1"))
_TOP_ERRORS = 15


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table; floats get 3 decimals.

    Example:
        >>> print(table(["a", "b"], [["x", 0.5]]))
        | a | b |
        |---|---|
        | x | 0.500 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _ci(report: EvalReport, key: str) -> str:
    interval = report.ci.get(key)
    return f"[{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "–"


def summary_text(report: EvalReport) -> str:
    """A short plain-text summary: headline metrics with intervals, per-class F1, baselines."""
    boot = report.bootstrap
    unit = f"{boot.get('n_groups')} {boot.get('group_column')} groups" if boot.get("group_column") else "rows"
    lines = [
        f"model: {report.model}",
        f"data: {report.data} ({report.n_examples} sentences; bootstrap over {unit})",
        "",
        f"{'metric':<14}{'value':>8}   95% CI",
    ]
    for key, name in _HEADLINE:
        if key in report.metrics:
            lines.append(f"{name:<14}{report.metrics[key]:>8.3f}   {_ci(report, key)}")
    if report.calibration:
        cal = report.calibration
        before = f"(T={cal['temperature']:.2f}; {cal['ece_before']:.3f} at T=1)"
        lines.append(f"{'ECE':<14}{cal['ece_after']:>8.3f}   {before}")
    lines += ["", f"{'label':<22}{'P':>7}{'R':>7}{'F1':>7}{'n':>6}"]
    for label, row in report.per_class.items():
        lines.append(
            f"{label:<22}{row['precision']:>7.3f}{row['recall']:>7.3f}{row['f1']:>7.3f}{row['support']:>6d}"
        )
    for name, base in report.baselines.items():
        paired = base["paired"]
        lines.append(
            f"baseline {name}: macro-F1 {base['metrics']['macro_f1']:.3f}; model - baseline = "
            f"{paired['delta']:+.3f} {_interval(paired['ci'])}, p = {paired['p_value']:.3g}"
        )
    if report.behaviour:
        for test in report.behaviour.get("tests", []):
            lines.append(
                f"behaviour {test['name']}: failure rate {test['failure_rate']:.2f} ({test['n_cases']} cases)"
            )
    return "\n".join(lines)


def _interval(values: Sequence[float]) -> str:
    return f"[{values[0]:+.3f}, {values[1]:+.3f}]"


def render_markdown(report: EvalReport) -> str:
    """The full ``report.md`` text."""
    parts = [
        f"# Evaluation of {report.model}",
        f"Data: `{report.data}`, {report.n_examples} labelled sentences. " + _bootstrap_note(report),
        "## Headline metrics",
        table(
            ["metric", "value", "95% CI"], [[n, report.metrics.get(k), _ci(report, k)] for k, n in _HEADLINE]
        ),
        "## Per class",
        table(
            ["label", "precision", "recall", "F1", "support"],
            [
                [lab, r["precision"], r["recall"], r["f1"], r["support"]]
                for lab, r in report.per_class.items()
            ],
        ),
        "## Confusion matrix (rows: gold, columns: predicted)",
        table(
            ["gold \\ predicted", *report.labels],
            [[g, *row] for g, row in zip(report.labels, report.confusion)],
        ),
        "![confusion matrix](confusion_matrix.png)",
    ]
    parts += _calibration_section(report) + _slices_section(report) + _baselines_section(report)
    parts += _behaviour_section(report) + _confusion_pairs_section(report) + _errors_section(report)
    return "\n\n".join(parts) + "\n"


def _bootstrap_note(report: EvalReport) -> str:
    boot = report.bootstrap
    if not boot:
        return ""
    unit = (
        f"whole `{boot['group_column']}` groups ({boot['n_groups']})"
        if boot.get("group_column")
        else "sentences"
    )
    return (
        f"Intervals: {int(100 * boot.get('level', 0.95))}% percentile bootstrap, "
        f"{boot['n_bootstrap']} resamples of {unit}, seed {boot['seed']}. "
        "Macro-F1 averages over the labels present in gold or predictions."
    )


def _calibration_section(report: EvalReport) -> list[str]:
    cal = report.calibration
    if not cal:
        return ["## Calibration", "The model gives no probabilities, so calibration is not measured."]
    rows = [
        ["before (T = 1)", cal["ece_before"]],
        [f"after (T = {cal['temperature']:.3f})", cal["ece_after"]],
    ]
    note = f"Expected calibration error over {cal['n_bins']} equal-width confidence bins."
    return [
        "## Calibration",
        note,
        table(["probabilities", "ECE"], rows),
        "![reliability diagram](reliability.png)",
    ]


def _slices_section(report: EvalReport) -> list[str]:
    if not report.slices:
        return []
    parts = ["## Slices"]
    for column, values in report.slices.items():
        rows = [
            [value, m["n"], m["accuracy"], m["macro_f1"], m["weighted_f1"]] for value, m in values.items()
        ]
        parts += [f"### {column}", table([column, "n", "accuracy", "macro-F1", "weighted-F1"], rows)]
    return parts


def _baselines_section(report: EvalReport) -> list[str]:
    if not report.baselines:
        return []
    rows = [
        ["model", report.metrics["accuracy"], report.metrics["macro_f1"], _ci(report, "macro_f1"), "", ""]
    ]
    for name, base in report.baselines.items():
        paired, ci = base["paired"], base["ci"]["macro_f1"]
        rows.append(
            [
                name,
                base["metrics"]["accuracy"],
                base["metrics"]["macro_f1"],
                f"[{ci[0]:.3f}, {ci[1]:.3f}]",
                f"{paired['delta']:+.3f} {_interval(paired['ci'])}",
                f"{paired['p_value']:.3g}",
            ]
        )
    header = ["system", "accuracy", "macro-F1", "95% CI", "model − system (macro-F1)", "paired p"]
    return ["## Baselines", "Paired bootstrap on the same resamples.", table(header, rows)]


def _behaviour_section(report: EvalReport) -> list[str]:
    if not report.behaviour:
        return []
    rows = [
        [t["name"], t["kind"], t["n_cases"], t["failure_rate"], t.get("flip_rate"), t.get("expected") or ""]
        for t in report.behaviour.get("tests", [])
    ]
    header = ["test", "kind", "cases", "failure rate", "flip rate", "expected"]
    return ["## Behavioural tests", table(header, rows)]


def _errors_section(report: EvalReport) -> list[str]:
    if not report.errors:
        return ["## Errors", "No misclassified rows."]
    shown = report.errors[:_TOP_ERRORS]
    rows = [[e["text"], e["gold"], e["predicted"], e.get("confidence")] for e in shown]
    note = f"{len(report.errors)} misclassified rows (all in `errors.csv`); the most confident {len(shown)}:"
    return ["## Errors", note, table(["text", "gold", "predicted", "confidence"], rows)]


def confusion_pairs(report: EvalReport, examples: int = 3) -> list[dict[str, Any]]:
    """The gold -> predicted confusions, most frequent first, each with its most confident examples.

    Example:
        >>> confusion_pairs(report)[0]  # doctest: +SKIP
        {'gold': 'position_statement', 'predicted': 'background', 'count': 41, 'examples': [...]}
    """
    pairs: dict[tuple[str, str], list[str]] = {}
    for error in report.errors:
        pairs.setdefault((error["gold"], error["predicted"]), []).append(error["text"])
    ranked = sorted(pairs.items(), key=lambda item: -len(item[1]))
    return [
        {"gold": g, "predicted": p, "count": len(texts), "examples": texts[:examples]}
        for (g, p), texts in ranked
    ]


def _confusion_pairs_section(report: EvalReport) -> list[str]:
    pairs = confusion_pairs(report)
    if not pairs:
        return []
    rows = [[p["gold"], p["predicted"], p["count"], " / ".join(p["examples"])] for p in pairs]
    note = "Each gold -> predicted confusion with up to three of its most confident examples."
    return ["## Confusion pairs", note, table(["gold", "predicted", "rows", "examples"], rows)]
