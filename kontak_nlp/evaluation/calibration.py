"""Confidence calibration: temperature scaling, expected calibration error, reliability-diagram data."""

from __future__ import annotations

from typing import Any

import numpy as np

#: The range :func:`fit_temperature` searches; a result at either end means the fit failed.
TEMPERATURE_BOUNDS = (0.05, 20.0)


def fit_temperature(
    logits: np.ndarray, labels: np.ndarray, *, bounds: tuple[float, float] = TEMPERATURE_BOUNDS
) -> float:
    """The temperature ``T`` minimising the negative log-likelihood of ``softmax(logits / T)``.

    Example:
        >>> logits = np.array([[4.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 0.0]])
        >>> 1.0 < fit_temperature(logits, np.array([0, 1, 1, 0]))
        True
    """
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(logits) == 0:
        raise ValueError("fit_temperature needs at least one example")

    def nll(log_t: float) -> float:
        scaled = logits / np.exp(log_t)
        scaled -= scaled.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(scaled).sum(axis=1))
        return float(np.mean(log_z - scaled[np.arange(len(labels)), labels]))

    result = minimize_scalar(nll, bounds=tuple(np.log(bounds)), method="bounded")
    return float(np.exp(result.x))


def checked_temperature(
    logits: np.ndarray, labels: np.ndarray, *, min_rows: int = 40, where: str = "dev"
) -> tuple[float | None, str | None]:
    """:func:`fit_temperature` with the checks a stored temperature needs: ``(T, None)`` or ``(None, why)``.

    The fit is refused on fewer than ``min_rows`` rows, and when ``T`` lands at a bound of its search
    range (the data cannot tell how confident the model should be).

    Example:
        >>> checked_temperature(np.zeros((3, 2)), np.array([0, 1, 0]), min_rows=40)[0] is None
        True
    """
    if len(labels) < min_rows:
        return None, (
            f"calibration skipped: {where} has {len(labels)} rows, fewer than min_calibration_rows="
            f"{min_rows}; scores are the model's plain softmax"
        )
    temperature = fit_temperature(logits, labels)
    low, high = TEMPERATURE_BOUNDS
    if not low * 1.01 < temperature < high * 0.99:
        return None, (
            f"calibration skipped: the temperature fitted on {len(labels)} {where} rows hit its bound "
            f"(T = {temperature:.3g}), which means {where} cannot tell how confident the model should be"
        )
    return temperature, None


def expected_calibration_error(proba: np.ndarray, labels: np.ndarray, *, n_bins: int = 15) -> float:
    """ECE: the confidence-weighted gap between confidence and accuracy over equal-width bins.

    Example:
        >>> expected_calibration_error(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1]))
        0.0
    """
    confidence, correct, bins = _binned(proba, labels, n_bins)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def _binned(proba: np.ndarray, labels: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-class confidence, correctness and equal-width bin index of every row."""
    proba = np.asarray(proba, dtype=np.float64)
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    return confidence, correct, bins


def reliability_data(proba: np.ndarray, labels: np.ndarray, *, n_bins: int = 15) -> dict[str, Any]:
    """Reliability-diagram data: per equal-width confidence bin, its count, mean confidence and accuracy.

    Uses the same bins as :func:`expected_calibration_error`. Empty bins have ``count`` 0 and
    ``None`` for confidence and accuracy.

    Example:
        >>> data = reliability_data(np.array([[0.9, 0.1], [0.8, 0.2]]), np.array([0, 1]), n_bins=2)
        >>> data["count"], data["accuracy"]
        ([0, 2], [None, 0.5])
    """
    confidence, correct, bins = _binned(proba, labels, n_bins)
    counts = np.bincount(bins, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=confidence, minlength=n_bins)
    hit_sum = np.bincount(bins, weights=correct.astype(np.float64), minlength=n_bins)
    return {
        "edges": np.linspace(0.0, 1.0, n_bins + 1).tolist(),
        "count": counts.astype(int).tolist(),
        "confidence": [float(s / c) if c else None for s, c in zip(conf_sum, counts)],
        "accuracy": [float(s / c) if c else None for s, c in zip(hit_sum, counts)],
        "ece": expected_calibration_error(proba, labels, n_bins=n_bins),
    }
