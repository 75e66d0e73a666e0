"""Run any model-like object on texts: a Classifier, a model directory, a pipeline, a callable.

Every form ends as a :class:`ModelOutput`, so baselines and fine-tuned models are scored alike.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from kontak_nlp.errors import InputError
from kontak_nlp.inference.batching import softmax

logger = logging.getLogger(__name__)

_CALLABLE_BLOCK = 1024  # texts per call of a plain callable


@dataclass
class ModelOutput:
    """What one model said about a list of texts.

    Attributes:
        name: A short description of the model.
        labels: The model's ordered label set (None when a plain callable does not declare one).
        predictions: One label per text.
        logits: ``(n, n_labels)`` scores whose softmax is the uncalibrated probability, or None.
        temperature: The model's stored calibration temperature (1.0 when none).
    """

    name: str
    labels: list[str] | None
    predictions: list[str]
    logits: np.ndarray | None = None
    temperature: float = 1.0

    def proba(self, *, calibrated: bool = True) -> np.ndarray | None:
        """Probabilities after (or before) the stored temperature; None for label-only models."""
        if self.logits is None:
            return None
        return softmax(self.logits, self.temperature if calibrated else 1.0)


def resolve_model(model: Any) -> Any:
    """Turn None, ``"default"``, a model directory or a hub id into a loaded classifier
    (:func:`kontak_nlp.load`); other model forms are returned as they are.

    Example:
        >>> resolve_model(len) is len
        True
    """
    if model is None or isinstance(model, (str, Path)):
        from kontak_nlp.api import load

        return load(model)
    return model


def describe_model(model: Any) -> str:
    """A short human-readable name for reports."""
    source = getattr(model, "source", None)
    if source:
        return f"{type(model).__name__}({source})"
    name = getattr(model, "__name__", None) or type(model).__name__
    return str(name)


def model_labels(model: Any) -> list[str] | None:
    """The ordered label set a model declares (``labels``, ``classes_`` or a pipeline's config)."""
    if _is_pipeline(model):
        id2label = model.model.config.id2label
        return [id2label[i] for i in sorted(id2label)]
    for attribute in ("labels", "classes_"):
        value = getattr(model, attribute, None)
        if value is not None and not callable(value):
            return [str(v) for v in value]
    return None


def run_model(
    model: Any,
    texts: Sequence[str],
    *,
    contexts: Sequence[str] | None = None,
    batch_size: int = 32,
    show_progress_bar: bool | None = None,
) -> ModelOutput:
    """Predict ``texts`` with any supported model form.

    ``contexts`` (article context per text) reach only models trained with context.

    Example:
        >>> run_model(lambda texts: ["demand"] * len(texts), ["Halo."]).predictions
        ['demand']
    """
    model = resolve_model(model)
    texts = list(texts)
    name, labels = describe_model(model), model_labels(model)
    if hasattr(model, "predict_logits"):
        extra = {"context": list(contexts)} if contexts and getattr(model, "uses_context", False) else {}
        logits = model.predict_logits(
            texts, batch_size=batch_size, show_progress_bar=show_progress_bar, **extra
        )
        temperature = float(getattr(model, "temperature", 1.0) or 1.0)
        return _from_logits(name, labels, np.asarray(logits, dtype=np.float64), temperature)
    if _is_pipeline(model):
        logits = _pipeline_log_proba(model, texts, labels, batch_size, show_progress_bar)
        temperature = float(getattr(model.model.config, "calibration_temperature", None) or 1.0)
        return _from_logits(name, labels, logits, temperature)
    if hasattr(model, "predict_proba") and labels is not None:
        proba = np.asarray(model.predict_proba(texts), dtype=np.float64)
        _check_shape(proba, len(texts), len(labels), name)
        return _from_logits(name, labels, np.log(np.clip(proba, 1e-12, None)), 1.0)
    predict = model.predict if hasattr(model, "predict") else model
    if not callable(predict):
        raise InputError(
            f"cannot evaluate a {type(model).__name__}: not a model directory, pipeline or callable"
        )
    predictions = _call_in_blocks(predict, texts, show_progress_bar)
    return ModelOutput(name, labels, predictions)


def _from_logits(name: str, labels: list[str] | None, logits: np.ndarray, temperature: float) -> ModelOutput:
    if labels is None:
        raise InputError(f"{name}: a model with scores must declare its labels")
    _check_shape(logits, len(logits), len(labels), name)
    predictions = [labels[i] for i in logits.argmax(axis=1)] if len(logits) else []
    return ModelOutput(name, labels, predictions, logits, temperature)


def _check_shape(values: np.ndarray, n: int, k: int, name: str) -> None:
    if values.shape != (n, k):
        raise InputError(f"{name}: scores have shape {values.shape}, expected ({n}, {k})")


def _is_pipeline(model: Any) -> bool:
    transformers = sys.modules.get("transformers")
    return transformers is not None and isinstance(model, transformers.Pipeline)


def _pipeline_log_proba(
    pipe: Any, texts: list[str], labels: list[str], batch_size: int, show_progress_bar: bool | None
) -> np.ndarray:
    """Log-probabilities from a text-classification pipeline, columns in ``labels`` order."""
    from kontak_nlp.inference.predictor import _hide_bar

    index = {name: j for j, name in enumerate(labels)}
    proba = np.zeros((len(texts), len(labels)), dtype=np.float64)
    outputs = pipe((t for t in texts), top_k=None, batch_size=batch_size, truncation=True)
    for row, scores in enumerate(tqdm(outputs, total=len(texts), disable=_hide_bar(show_progress_bar))):
        for item in scores if isinstance(scores, list) else [scores]:
            proba[row, index[item["label"]]] = item["score"]
    return np.log(np.clip(proba, 1e-12, None))


def _call_in_blocks(predict: Any, texts: list[str], show_progress_bar: bool | None) -> list[str]:
    from kontak_nlp.inference.predictor import _hide_bar

    starts = range(0, len(texts), _CALLABLE_BLOCK)
    predictions: list[str] = []
    for start in tqdm(starts, desc="Classifying", unit="block", disable=_hide_bar(show_progress_bar)):
        block = texts[start : start + _CALLABLE_BLOCK]
        out = [_as_label(p) for p in predict(block)]
        if len(out) != len(block):
            raise InputError(f"the model returned {len(out)} predictions for {len(block)} texts")
        predictions.extend(out)
    return predictions


def _as_label(value: Any) -> str:
    """A prediction as a label name: a str, a Prediction-like ``.label`` or a ``{"label": ...}`` dict."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "label" in value:
        return str(value["label"])
    label = getattr(value, "label", None)
    if isinstance(label, str):
        return label
    raise InputError(f"the model returned {value!r}; expected a label name")
