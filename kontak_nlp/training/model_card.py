"""Model cards: a ``README.md`` written next to every trained model, from figures computed in the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kontak_nlp._version import __version__
from kontak_nlp.training.config import TrainConfig

RESULTS_FILE = "eval_results.json"

_LIMITS = """\
- Trained on an original, synthetic-by-design corpus of diplomatic news written for this project
  (see `training/data/README.md`); real news differs in topic mix and style, so check the model on
  a sample of your own data with `kontak-nlp evaluate` before relying on it.
- Sentence-level only: a label describes the main proposition of one sentence, not the article.
- Indonesian is the main language; English and Malay have less training data.
"""
_CALIBRATED_ON_DEV = (
    "- Scores are temperature-calibrated on the dev split; calibration on other domains is not guaranteed."
)


def _fmt_ci(entry: Any) -> str:
    if isinstance(entry, dict) and "value" in entry:
        low, high = entry.get("ci_low"), entry.get("ci_high")
        ci = f" (95% CI {low:.3f}-{high:.3f})" if low is not None and high is not None else ""
        return f"{entry['value']:.3f}{ci}"
    return f"{entry:.3f}" if isinstance(entry, (int, float)) else str(entry)


def _results_table(results: dict[str, Any]) -> str:
    rows = ["| data | n | accuracy | macro-F1 | ECE (calibrated) |", "|---|---|---|---|---|"]
    for name, result in results.items():
        rows.append(
            f"| {name} | {result.get('n', '')} | {_fmt_ci(result.get('accuracy', ''))} | "
            f"{_fmt_ci(result.get('macro_f1', ''))} | {_fmt_ci(result.get('ece', ''))} |"
        )
    return "\n".join(rows)


def _calibration_line(directory: Path) -> str:
    """Where the stored temperature was fitted: dev, or the data ``kontak-nlp calibrate`` recorded."""
    config_file = directory / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.exists() else {}
    source, temperature = config.get("calibration_source"), config.get("calibration_temperature")
    if not source or temperature is None:
        return _CALIBRATED_ON_DEV
    return (
        f"- Scores are temperature-calibrated (T = {temperature:.3f}) on {source}, after training "
        "(`kontak-nlp calibrate`); calibration on other domains is not guaranteed."
    )


def _history_table(history: list[dict[str, Any]]) -> str:
    rows = ["| epoch | dev accuracy | dev macro-F1 | dev loss |", "|---|---|---|---|"]
    for entry in history:
        rows.append(
            f"| {entry.get('epoch', 0):.0f} | {entry.get('eval_accuracy', 0):.3f} | "
            f"{entry.get('eval_macro_f1', 0):.3f} | {entry.get('eval_loss', 0):.3f} |"
        )
    return "\n".join(rows)


def write_model_card(
    directory: Path,
    config: TrainConfig,
    labels: list[str],
    *,
    history: list[dict[str, Any]] | None = None,
    results: dict[str, Any] | None = None,
    notes: list[str] | None = None,
) -> Path:
    """Write ``README.md`` into ``directory``; ``results`` default to ``eval_results.json`` if present.

    ``notes`` (settings chosen from the data size, warnings from the dev checks) get their own section.

    Example:
        >>> write_model_card(Path("runs/demo"), TrainConfig(), ["a", "b"])  # doctest: +SKIP
    """
    directory = Path(directory)
    if results is None and (directory / RESULTS_FILE).exists():
        results = json.loads((directory / RESULTS_FILE).read_text(encoding="utf-8"))
    config_json = json.dumps(config.to_dict(), indent=2, ensure_ascii=False)
    label_lines = "\n".join(f"{i}. `{name}`" for i, name in enumerate(labels))
    sections = [
        "---\nlibrary_name: kontak_nlp\npipeline_tag: text-classification\nlanguage: [id, en, ms]\n---",
        f"# kontak_nlp sentence classifier ({len(labels)} labels)",
        "## Intended use\nTags each sentence of news about diplomacy with one label, for analysts who "
        "track who meets whom, who says what and who demands what. Load it with "
        "`kontak_nlp.load(path)`; a merged directory also loads with "
        '`transformers.pipeline("text-classification", model=path)`.',
        f"## Labels (column order of `predict_proba`)\n{label_lines}",
        f"## Training\nBase encoder: `{config.base}`"
        + (f", warm-started from `{config.from_model}`" if config.from_model else "")
        + f"; method: `{config.method}`; kontak_nlp {__version__}.\n\n```json\n{config_json}\n```",
    ]
    if notes:
        sections.append("## Notes from training\n" + "\n".join(f"- {note}" for note in notes))
    if history:
        sections.append("## Dev metrics per epoch\n" + _history_table(history))
    if results:
        sections.append(
            "## Evaluation\nFigures computed by `kontak_nlp.evaluate` (95% bootstrap confidence "
            "intervals, resampling whole articles where article ids exist).\n\n" + _results_table(results)
        )
    sections.append("## Limits\n" + _LIMITS + _calibration_line(directory) + "\n")
    target = directory / "README.md"
    target.write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    return target
