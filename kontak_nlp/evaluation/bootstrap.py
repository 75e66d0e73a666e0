"""Seeded percentile bootstrap: confidence intervals and a paired test, resampling whole groups.

Sentences of one article are not independent, so when article ids exist the bootstrap draws whole
articles with replacement. Everything is vectorised: each group is summarised once as the counts of
its confusion-matrix cells, and a resample is a matrix product of draw counts with those summaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kontak_nlp.evaluation.metrics import METRIC_NAMES, confusion_cells, scores_from_confusion

_CHUNK = 250  # resamples per matrix product, to bound memory on large sets


def bootstrap_scores(
    gold: np.ndarray,
    preds: Sequence[np.ndarray],
    n_labels: int,
    *,
    groups: Sequence[Any] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> list[dict[str, np.ndarray]]:
    """Metric values of every bootstrap resample, for one or more prediction vectors.

    All prediction vectors share the same resamples, which is what a paired comparison needs.

    Args:
        gold: Gold label ids, shape ``(n,)``.
        preds: One or more predicted id vectors, each shape ``(n,)``.
        n_labels: Number of labels (ids run from 0 to ``n_labels - 1``).
        groups: Optional group id per row (e.g. article ids); groups are resampled whole.
        n_bootstrap: Number of resamples.
        seed: Seed of the random generator.

    Returns:
        One dict per prediction vector, mapping each of ``accuracy, macro_f1, weighted_f1`` to an
        array of shape ``(n_bootstrap,)``.

    Example:
        >>> gold = np.array([0, 1, 1, 0])
        >>> out = bootstrap_scores(gold, [gold], 2, n_bootstrap=5)
        >>> out[0]["macro_f1"].tolist()
        [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    gold = np.asarray(gold, dtype=np.int64)
    if len(gold) == 0:
        raise ValueError("cannot bootstrap an empty set")
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    group_ids = _group_ids(groups, len(gold))
    n_groups = int(group_ids.max()) + 1
    summaries = [_group_cell_counts(gold, p, group_ids, n_groups, n_labels) for p in preds]
    rng = np.random.default_rng(seed)
    results: list[dict[str, list[np.ndarray]]] = [{m: [] for m in METRIC_NAMES} for _ in preds]
    for start in range(0, n_bootstrap, _CHUNK):
        size = min(_CHUNK, n_bootstrap - start)
        weights = _draw_counts(rng, size, n_groups)
        for summary, result in zip(summaries, results):
            cms = (weights @ summary).reshape(size, n_labels, n_labels)
            for name, values in scores_from_confusion(cms).items():
                result[name].append(values)
    return [{name: np.concatenate(parts) for name, parts in result.items()} for result in results]


def _group_ids(groups: Sequence[Any] | None, n: int) -> np.ndarray:
    if groups is None:
        return np.arange(n)
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries for {n} rows")
    _, inverse = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
    return inverse.reshape(-1)


def _group_cell_counts(
    gold: np.ndarray, pred: np.ndarray, group_ids: np.ndarray, n_groups: int, k: int
) -> np.ndarray:
    """``(n_groups, k*k)`` float matrix: how many rows of each group fall in each confusion cell."""
    pred = np.asarray(pred, dtype=np.int64)
    if pred.shape != gold.shape:
        raise ValueError(f"predictions have shape {pred.shape}, gold has {gold.shape}")
    flat = group_ids * (k * k) + confusion_cells(gold, pred, k)
    return np.bincount(flat, minlength=n_groups * k * k).reshape(n_groups, k * k).astype(np.float64)


def _draw_counts(rng: np.random.Generator, size: int, n_groups: int) -> np.ndarray:
    """How often each group is drawn in each of ``size`` resamples of ``n_groups`` draws."""
    draws = rng.integers(0, n_groups, size=(size, n_groups))
    flat = (draws + np.arange(size)[:, None] * n_groups).ravel()
    return np.bincount(flat, minlength=size * n_groups).reshape(size, n_groups).astype(np.float64)


def percentile_ci(values: np.ndarray, level: float = 0.95) -> list[float]:
    """The two-sided percentile interval of bootstrap values.

    Example:
        >>> [round(x, 6) for x in percentile_ci(np.arange(101.0))]
        [2.5, 97.5]
    """
    alpha = (1.0 - level) / 2.0
    low, high = np.percentile(np.asarray(values, dtype=np.float64), [100 * alpha, 100 * (1 - alpha)])
    return [float(low), float(high)]


def bootstrap_ci(
    gold: np.ndarray,
    pred: np.ndarray,
    n_labels: int,
    *,
    groups: Sequence[Any] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, list[float]]:
    """95% (by default) percentile bootstrap intervals of accuracy, macro-F1 and weighted-F1.

    Example:
        >>> gold = np.array([0, 1, 1, 0, 1])
        >>> bootstrap_ci(gold, gold, 2)["macro_f1"]
        [1.0, 1.0]
    """
    scores = bootstrap_scores(gold, [pred], n_labels, groups=groups, n_bootstrap=n_bootstrap, seed=seed)[0]
    return {name: percentile_ci(values, level) for name, values in scores.items()}


def paired_bootstrap(
    gold: Sequence[Any],
    pred_a: Sequence[Any],
    pred_b: Sequence[Any],
    groups: Sequence[Any] | None = None,
    metric: str = "macro_f1",
    *,
    labels: Sequence[str] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Paired bootstrap test of ``metric(A) - metric(B)`` on the same rows (or groups).

    Both systems are scored on the same resamples. The two-sided p-value tests "no difference"
    with the shifted bootstrap distribution, ``(1 + #{|d_b - d| >= |d|}) / (1 + B)``: two
    identical systems get ``p = 1``; a system that wins every resample gets ``p`` near ``1/B``.

    Args:
        gold, pred_a, pred_b: Gold labels and the predictions of systems A and B (names or ids).
        groups: Optional group id per row; groups are resampled whole.
        metric: ``"accuracy"``, ``"macro_f1"`` or ``"weighted_f1"``.
        labels: The label set (default: the sorted union of all values).

    Returns:
        ``{"metric", "a", "b", "delta", "ci", "p_value", "n_bootstrap"}``.

    Example:
        >>> paired_bootstrap(["x", "y", "y"], ["x", "y", "y"], ["x", "y", "y"])["p_value"]
        1.0
    """
    if metric not in METRIC_NAMES:
        raise ValueError(f"metric must be one of {METRIC_NAMES}, got {metric!r}")
    gold_ids, a_ids, b_ids, k = _encode_all([gold, pred_a, pred_b], labels)
    runs = bootstrap_scores(gold_ids, [a_ids, b_ids], k, groups=groups, n_bootstrap=n_bootstrap, seed=seed)
    a, b = (float(scores_from_confusion(_confusion(gold_ids, p, k))[metric]) for p in (a_ids, b_ids))
    deltas = runs[0][metric] - runs[1][metric]
    extreme = np.abs(deltas - (a - b)) >= abs(a - b) - 1e-12
    p_value = float((1 + extreme.sum()) / (1 + len(deltas)))
    ci = percentile_ci(deltas, level)
    return {
        "metric": metric,
        "a": a,
        "b": b,
        "delta": a - b,
        "ci": ci,
        "p_value": p_value,
        "n_bootstrap": n_bootstrap,
    }


def _encode_all(parts: Sequence[Sequence[Any]], labels: Sequence[Any] | None) -> tuple[Any, ...]:
    """Each sequence as an id array over ``labels`` (default: the sorted union), plus the label count."""
    names = list(labels) if labels is not None else sorted({v for part in parts for v in part}, key=str)
    index = {name: i for i, name in enumerate(names)}
    return (*(np.array([index[v] for v in part], dtype=np.int64) for part in parts), len(names))


def _confusion(gold: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(confusion_cells(gold, pred, k), minlength=k * k).reshape(k, k)
