"""The :class:`EvalReport` (every figure of one evaluation, JSON round trip) and :func:`write_report`."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Leading columns of ``errors.csv``; group and slice columns follow.
ERROR_COLUMNS: tuple[str, ...] = ("row", "text", "gold", "predicted", "confidence")


@dataclass
class EvalReport:
    """Every figure of one evaluation of a model on one labelled data set.

    Attributes:
        model: Description of the evaluated model.
        data: Description of the data (file path, ``corpus:test``, ``Dataset`` ...).
        labels: The label set, in the model's order (rows and columns of the confusion matrix).
        n_examples: Number of labelled rows evaluated.
        metrics: ``accuracy``, ``macro_f1``, ``weighted_f1``, ``micro_f1``.
        per_class: Per label: ``precision``, ``recall``, ``f1``, ``support``.
        confusion: Confusion-matrix counts (rows gold, columns predicted).
        confusion_normalized: The same, each row divided by its total.
        ci: Bootstrap percentile interval ``[low, high]`` of accuracy, macro-F1 and weighted-F1.
        bootstrap: Settings of the bootstrap: ``n_bootstrap``, ``seed``, ``level``, ``group_column``,
            ``n_groups``.
        calibration: ECE and reliability data before and after the stored temperature; None for
            models that give no probabilities.
        slices: ``{column: {value: {n, accuracy, macro_f1, weighted_f1}}}``.
        baselines: Per baseline: its metrics, intervals and a paired test against the model.
        errors: Misclassified rows (text, gold, predicted, confidence, group and slice values),
            most confident first.
        behaviour: A :class:`~kontak_nlp.evaluation.behaviour.BehaviourReport` as a dict, if run.
        meta: Columns used, rows dropped, library version.

    Example:
        >>> report = EvalReport(model="m", data="d", labels=["a", "b"], n_examples=0)
        >>> EvalReport.from_json(report.to_json()) == report
        True
    """

    model: str
    data: str
    labels: list[str]
    n_examples: int
    metrics: dict[str, float] = field(default_factory=dict)
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    confusion_normalized: list[list[float]] = field(default_factory=list)
    ci: dict[str, list[float]] = field(default_factory=dict)
    bootstrap: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None
    slices: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    behaviour: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field.

        Example:
            >>> EvalReport(model="m", data="d", labels=["a", "b"], n_examples=0).to_dict()["labels"]
            ['a', 'b']
        """
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EvalReport:
        """Rebuild a report from :meth:`to_dict` output (unknown keys are an error)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown EvalReport field(s) {unknown}")
        return cls(**values)

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        """Serialise to JSON; also write it to ``path`` when given.

        Example:
            >>> '"labels"' in EvalReport(model="m", data="d", labels=["a"], n_examples=0).to_json()
            True
        """
        text = json.dumps(
            self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False, default=_jsonable
        )
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, source: str | Path) -> EvalReport:
        """Load a report from a JSON string or a ``report.json`` path.

        Example:
            >>> EvalReport.from_json('{"model": "m", "data": "d", "labels": [], "n_examples": 0}').model
            'm'
        """
        text = str(source)
        if not text.lstrip().startswith("{"):
            text = Path(source).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    def summary(self) -> str:
        """A short plain-text table of the headline figures (what the CLI prints).

        Example:
            >>> print(EvalReport(model="m", data="d", labels=[], n_examples=0).summary().splitlines()[0])
            model: m
        """
        from kontak_nlp.evaluation._markdown import summary_text

        return summary_text(self)

    def to_markdown(self) -> str:
        """The readable ``report.md`` text."""
        from kontak_nlp.evaluation._markdown import render_markdown

        return render_markdown(self)


def _jsonable(value: Any) -> Any:
    """numpy scalars and arrays as plain Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_report(report: EvalReport, out_dir: str | Path, *, plots: bool = True) -> dict[str, Path]:
    """Write ``report.json``, ``report.md``, ``errors.csv`` and the figures to ``out_dir``.

    Figures: ``confusion_matrix.png``, ``reliability.png`` and ``per_label_f1.png``. They need
    matplotlib (the ``[plots]`` extra); without it they are skipped with a warning, and
    ``plots=False`` skips them on purpose.

    Returns:
        File kind to written path.

    Example:
        >>> paths = write_report(report, "reports/dev")  # doctest: +SKIP
        >>> sorted(paths)  # doctest: +SKIP
        ['confusion_matrix', 'errors', 'json', 'markdown', 'per_label_f1', 'reliability']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "report.json",
        "markdown": out / "report.md",
        "errors": out / "errors.csv",
    }
    report.to_json(paths["json"])
    paths["markdown"].write_text(report.to_markdown(), encoding="utf-8")
    write_errors_csv(report, paths["errors"])
    if plots:
        try:
            paths.update(_write_figures(report, out))
        except ImportError as error:  # matplotlib is the optional [plots] extra
            logger.warning("figures skipped (%s); install them with: pip install 'kontak-nlp[plots]'", error)
    logger.info("wrote evaluation report to %s", out)
    return paths


def write_errors_csv(report: EvalReport, path: str | Path) -> Path:
    """Write the misclassified rows, most confident first, as UTF-8 CSV.

    Example:
        >>> write_errors_csv(report, "errors.csv")  # doctest: +SKIP
    """
    import pandas as pd

    frame = pd.DataFrame(report.errors)
    extra = [c for c in frame.columns if c not in ERROR_COLUMNS]
    frame = frame.reindex(columns=list(ERROR_COLUMNS) + extra)
    frame.to_csv(path, index=False, encoding="utf-8")
    return Path(path)


def _write_figures(report: EvalReport, out: Path) -> dict[str, Path]:
    from matplotlib.figure import Figure

    from kontak_nlp.evaluation import plots

    figures = {
        "confusion_matrix": (plots.plot_confusion_matrix, plots.confusion_figsize(report)),
        "reliability": (plots.plot_reliability, (6.4, 5.6)),
        "per_label_f1": (plots.plot_per_label_f1, plots.per_label_figsize(report)),
    }
    paths = {}
    for name, (draw, size) in figures.items():
        figure = Figure(figsize=size, layout="constrained")
        draw(report, ax=figure.add_subplot())
        paths[name] = out / f"{name}.png"
        figure.savefig(paths[name], dpi=120)
    return paths
