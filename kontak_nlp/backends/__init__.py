"""Inference backends for batch jobs: torch (fp32, bf16/fp16 autocast, dynamic int8) and ONNX Runtime.

Every backend exposes ``labels``, ``predict_logits``, ``predict_proba``, ``predict`` and ``classify``
like :class:`~kontak_nlp.Classifier`, so jobs run on either.

Example:
    >>> from kontak_nlp.backends import load_model
    >>> model, choice = load_model("runs/news4", backend="onnx", quantize="int8")  # doctest: +SKIP
"""

from __future__ import annotations

from kontak_nlp.backends.loading import (
    PrecisionChoice,
    choose_precision,
    configure_threads,
    load_model,
    physical_cores,
    quantize_torch_int8,
)

__all__ = [
    "PrecisionChoice",
    "choose_precision",
    "configure_threads",
    "load_model",
    "physical_cores",
    "quantize_torch_int8",
]
