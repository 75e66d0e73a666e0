"""Evaluation harness: metrics with confidence intervals, calibration, slices, baselines, plots.

Names resolve lazily so that ``import kontak_nlp`` stays cheap (no scikit-learn, no matplotlib).

Example:
    >>> from kontak_nlp.evaluation import evaluate, write_report
    >>> report = evaluate("runs/news4", "test")  # doctest: +SKIP
    >>> write_report(report, "reports/test")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "BehaviourReport",
    "EvalReport",
    "MajorityBaseline",
    "TfidfLogRegBaseline",
    "bootstrap_ci",
    "evaluate",
    "paired_bootstrap",
    "plot_confusion_matrix",
    "plot_per_label_f1",
    "plot_reliability",
    "run_behaviour_tests",
    "write_report",
]

_LAZY: dict[str, str] = {
    "BehaviourReport": "kontak_nlp.evaluation.behaviour",
    "run_behaviour_tests": "kontak_nlp.evaluation.behaviour",
    "EvalReport": "kontak_nlp.evaluation.report",
    "write_report": "kontak_nlp.evaluation.report",
    "MajorityBaseline": "kontak_nlp.evaluation.baselines",
    "TfidfLogRegBaseline": "kontak_nlp.evaluation.baselines",
    "bootstrap_ci": "kontak_nlp.evaluation.bootstrap",
    "paired_bootstrap": "kontak_nlp.evaluation.bootstrap",
    "plot_confusion_matrix": "kontak_nlp.evaluation.plots",
    "plot_per_label_f1": "kontak_nlp.evaluation.plots",
    "plot_reliability": "kontak_nlp.evaluation.plots",
}

if TYPE_CHECKING:  # pragma: no cover
    from kontak_nlp.evaluation.baselines import MajorityBaseline, TfidfLogRegBaseline
    from kontak_nlp.evaluation.behaviour import BehaviourReport, run_behaviour_tests
    from kontak_nlp.evaluation.bootstrap import bootstrap_ci, paired_bootstrap
    from kontak_nlp.evaluation.plots import plot_confusion_matrix, plot_per_label_f1, plot_reliability
    from kontak_nlp.evaluation.report import EvalReport, write_report


def evaluate(*args: Any, **kwargs: Any) -> Any:
    """Evaluate a model on labeled data (see :func:`kontak_nlp.evaluation.harness.evaluate`).

    Example:
        >>> from kontak_nlp.evaluation import evaluate
        >>> report = evaluate("runs/news4", "dev", baselines=["tfidf"], train_data="train")  # doctest: +SKIP
    """
    from kontak_nlp.evaluation.harness import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kontak_nlp.evaluation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
