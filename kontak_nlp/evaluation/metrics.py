"""Point metrics from scikit-learn, plus the same figures computed from stacks of confusion matrices.

The point estimates come straight from :func:`sklearn.metrics.classification_report` and
:func:`sklearn.metrics.confusion_matrix`. The bootstrap needs the same figures for a thousand
resamples at once, so :func:`scores_from_confusion` computes them from confusion matrices with numpy;
tests check that both routes agree.

Macro-F1 averages over the labels that occur in the gold labels or the predictions (scikit-learn's
default for ``f1_score``), so a perfect model scores 1.0 on data that lacks a class. The per-class
table still lists every label of the model, with zeros where a class is absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: ``evaluate.load(str(EVALUATE_METRIC_PATH))`` gives a macro/weighted-F1 metric that works offline.
EVALUATE_METRIC_PATH = Path(__file__).parent / "templates" / "macro_f1.py"

METRIC_NAMES: tuple[str, ...] = ("accuracy", "macro_f1", "weighted_f1")


def encode_labels(values: Sequence[str], labels: Sequence[str], *, where: str = "gold") -> np.ndarray:
    """Map label names to their index in ``labels``; an unknown name raises a ``DataError``.

    Example:
        >>> encode_labels(["b", "a"], ["a", "b"]).tolist()
        [1, 0]
    """
    from kontak_nlp.errors import DataError

    index = {name: i for i, name in enumerate(labels)}
    out = np.empty(len(values), dtype=np.int64)
    for row, value in enumerate(values):
        if value not in index:
            raise DataError(
                f"{where} label {value!r} (first at row {row}) is not in the label set {list(labels)}"
            )
        out[row] = index[value]
    return out


def classification_metrics(gold: np.ndarray, pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro/weighted/micro F1, per-class P/R/F1/support and the confusion matrix.

    Args:
        gold: Gold label ids (indices into ``labels``).
        pred: Predicted label ids.
        labels: Label names in id order.

    Returns:
        A JSON-ready dict with ``metrics``, ``per_class``, ``confusion`` (counts) and
        ``confusion_normalized`` (rows sum to 1; all-zero rows for absent classes).

    Example:
        >>> out = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), ["a", "b"])
        >>> out["metrics"]["accuracy"], out["per_class"]["b"]["recall"]
        (0.6666666666666666, 0.5)
    """
    from sklearn.metrics import classification_report, confusion_matrix, f1_score

    ids = list(range(len(labels)))
    report = classification_report(
        gold, pred, labels=ids, target_names=list(labels), output_dict=True, zero_division=0
    )
    per_class = {
        name: {
            "precision": float(report[name]["precision"]),
            "recall": float(report[name]["recall"]),
            "f1": float(report[name]["f1-score"]),
            "support": int(report[name]["support"]),
        }
        for name in labels
    }
    counts = confusion_matrix(gold, pred, labels=ids)
    metrics = {
        "accuracy": float(np.mean(gold == pred)) if len(gold) else 0.0,
        "macro_f1": float(f1_score(gold, pred, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(gold, pred, labels=ids, average="weighted", zero_division=0)),
        "micro_f1": float(f1_score(gold, pred, labels=ids, average="micro", zero_division=0)),
    }
    return {
        "metrics": metrics,
        "per_class": per_class,
        "confusion": counts.tolist(),
        "confusion_normalized": _row_normalize(counts).tolist(),
    }


def _row_normalize(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros(counts.shape, dtype=np.float64), where=totals > 0)


def confusion_cells(gold: np.ndarray, pred: np.ndarray, n_labels: int) -> np.ndarray:
    """The flat confusion-matrix cell (``gold * n_labels + pred``) of every row.

    Example:
        >>> confusion_cells(np.array([0, 1]), np.array([1, 1]), 2).tolist()
        [1, 3]
    """
    return np.asarray(gold, dtype=np.int64) * n_labels + np.asarray(pred, dtype=np.int64)


def scores_from_confusion(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, macro-F1 and weighted-F1 of a stack of confusion matrices ``(..., K, K)``.

    Rows are gold, columns predicted, as in scikit-learn. Macro-F1 averages over the labels with
    gold or predicted examples; empty matrices score 0.

    Example:
        >>> cm = np.array([[2, 0], [1, 1]])
        >>> {k: round(float(v), 4) for k, v in scores_from_confusion(cm).items()}
        {'accuracy': 0.75, 'macro_f1': 0.7333, 'weighted_f1': 0.7333}
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    total = support.sum(axis=-1)
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    present = denom > 0
    n_present = present.sum(axis=-1)
    safe_total = np.where(total > 0, total, 1.0)
    return {
        "accuracy": np.where(total > 0, tp.sum(axis=-1) / safe_total, 0.0),
        "macro_f1": np.where(n_present > 0, f1.sum(axis=-1) / np.maximum(n_present, 1), 0.0),
        "weighted_f1": np.where(total > 0, (f1 * support).sum(axis=-1) / safe_total, 0.0),
    }


def load_evaluate_metric() -> Any:
    """The shipped ``evaluate`` metric (macro or weighted F1 over label names), loaded offline.

    Example:
        >>> metric = load_evaluate_metric()  # doctest: +SKIP
        >>> metric.compute(predictions=["demand", "background"],
        ...                references=["demand", "demand"])  # doctest: +SKIP
        {'macro_f1': 0.3333333333333333}
    """
    import evaluate

    return evaluate.load(str(EVALUATE_METRIC_PATH))
