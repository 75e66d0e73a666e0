"""Evaluation harness: metrics with confidence intervals, calibration, slices, baselines, plots."""

from __future__ import annotations

from typing import Any


def evaluate(*args: Any, **kwargs: Any) -> Any:
    """Evaluate a model on labeled data (see :func:`kontak_nlp.evaluation.harness.evaluate`)."""
    from kontak_nlp.evaluation.harness import evaluate as _evaluate

    return _evaluate(*args, **kwargs)
