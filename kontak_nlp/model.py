"""The :class:`Classifier`: one object that loads, saves and runs a sentence classifier.

Inference runs in three stages, like the transformers text-classification pipeline:
``_preprocess`` tokenizes on the CPU, ``_forward`` is the only code that touches the device,
``_postprocess`` turns logits into calibrated probabilities and :class:`Prediction` objects.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from kontak_nlp import _model_io
from kontak_nlp._batching import length_sorted_batches, resolve_device, resolve_precision, softmax
from kontak_nlp._inputs import coerce_texts
from kontak_nlp.schema import Prediction

logger = logging.getLogger(__name__)


class Classifier:
    """A fine-tuned encoder that tags sentences with one label each.

    Args:
        model: A ``transformers`` sequence-classification model (``id2label`` in its config).
        tokenizer: The matching fast tokenizer.
        device: ``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        precision: ``"fp32"``, ``"bf16"``, ``"fp16"`` or ``"auto"`` (bf16 autocast on GPUs and on
            CPUs with native bf16 support). ``device="auto"`` on a GPU uses ``"auto"``.
        max_length: Token limit per text; longer texts are truncated with one warning per call.

    Example:
        >>> clf = Classifier.from_pretrained("path/to/model")  # doctest: +SKIP
        >>> clf.predict(["Kedua menteri bertemu di Jakarta pada Senin."])  # doctest: +SKIP
        ['meeting_report']
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        device: str | torch.device | None = "auto",
        precision: str | None = None,
        max_length: int | None = None,
    ) -> None:
        self.device = resolve_device(device)
        if precision is None:
            precision = "auto" if self.device.type == "cuda" else "fp32"
        self.precision = precision
        self._autocast_dtype = resolve_precision(precision, self.device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.max_length = max_length or _model_io.model_max_length(model, tokenizer)
        self.source: str | None = None

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        device: str | torch.device | None = "auto",
        precision: str | None = None,
        max_length: int | None = None,
    ) -> Classifier:
        """Load a classifier from a model directory (plain HF or kontak adapter dir) or a hub id.

        Example:
            >>> clf = Classifier.from_pretrained("runs/news4")  # doctest: +SKIP
        """
        model, tokenizer = _model_io.load_model_and_tokenizer(path)
        clf = cls(model, tokenizer, device=device, precision=precision, max_length=max_length)
        clf.source = str(path)
        return clf

    def save_pretrained(self, path: str | Path, *, merged: bool = True) -> Path:
        """Save as a plain Hugging Face directory (``merged=True``) or as a small adapter directory.

        A merged directory loads with ``transformers.pipeline("text-classification", model=path)``.

        Example:
            >>> clf.save_pretrained("my-model")  # doctest: +SKIP
        """
        return _model_io.save_model(self.model, self.tokenizer, Path(path), merged=merged)

    def to(self, device: str | torch.device) -> Classifier:
        """Move the model to ``device`` and return ``self``."""
        self.device = resolve_device(device)
        self.model.to(self.device)
        self._autocast_dtype = resolve_precision(self.precision, self.device)
        return self

    # ------------------------------------------------------------------ label metadata
    @property
    def labels(self) -> list[str]:
        """Label names in column order of :meth:`predict_proba` (read from ``config.id2label``)."""
        return _model_io.ordered_labels(self.model.config)

    @property
    def classes_(self) -> np.ndarray:
        """scikit-learn style alias of :attr:`labels`."""
        return np.asarray(self.labels, dtype=object)

    @property
    def temperature(self) -> float:
        """The calibration temperature stored in the model config (1.0 when none is stored)."""
        return float(getattr(self.model.config, "calibration_temperature", None) or 1.0)

    # ------------------------------------------------------------------ prediction API
    def predict_logits(
        self, texts: Iterable[str] | str, *, batch_size: int = 32, show_progress_bar: bool | None = None
    ) -> np.ndarray:
        """Raw logits, shape ``(n, n_labels)``, rows in input order.

        Example:
            >>> clf.predict_logits(["Halo."]).shape  # doctest: +SKIP
            (1, 4)
        """
        values, _ = coerce_texts(texts)
        out = np.zeros((len(values), len(self.labels)), dtype=np.float32)
        if not values:
            return out
        encoded = self._preprocess(values)
        lengths = [len(ids) for ids in encoded]
        batches = list(length_sorted_batches(lengths, batch_size))
        for indices in tqdm(batches, desc="Classifying", unit="batch", disable=_hide_bar(show_progress_bar)):
            out[indices] = self._forward([encoded[i] for i in indices])
        return out

    def predict_proba(
        self,
        texts: Iterable[str] | str,
        *,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        calibrated: bool = True,
    ) -> np.ndarray:
        """Probabilities, shape ``(n, n_labels)``, columns in :attr:`labels` order.

        Args:
            calibrated: Divide logits by the stored temperature before the softmax.

        Example:
            >>> clf.predict_proba(["Halo.", "Apa kabar?"]).sum(axis=1)  # doctest: +SKIP
            array([1., 1.], dtype=float32)
        """
        logits = self.predict_logits(texts, batch_size=batch_size, show_progress_bar=show_progress_bar)
        return softmax(logits, self.temperature if calibrated else 1.0)

    def predict(
        self, texts: Iterable[str] | str, *, batch_size: int = 32, show_progress_bar: bool | None = None
    ) -> list[str]:
        """The most probable label of each text, in input order.

        Example:
            >>> clf.predict("Menlu RI bertemu Menlu Jepang.")  # doctest: +SKIP
            ['meeting_report']
        """
        proba = self.predict_proba(texts, batch_size=batch_size, show_progress_bar=show_progress_bar)
        labels = self.labels
        return [labels[i] for i in proba.argmax(axis=1)]

    def classify(
        self,
        texts: Iterable[str] | str,
        *,
        top_k: int | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> list[Prediction]:
        """One :class:`Prediction` per text (always a list), in input order.

        Args:
            top_k: Keep only the ``top_k`` best labels in ``Prediction.scores`` (None keeps all).

        Example:
            >>> clf.classify(["Kedua menteri bertemu di Jakarta."])[0].label  # doctest: +SKIP
            'meeting_report'
        """
        values, _ = coerce_texts(texts)
        proba = self.predict_proba(values, batch_size=batch_size, show_progress_bar=show_progress_bar)
        return self._postprocess(values, proba, top_k)

    # ------------------------------------------------------------------ pipeline stages
    def _preprocess(self, texts: list[str]) -> list[list[int]]:
        """Tokenize without padding; warn once when texts are cut at ``max_length``."""
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        cut = sum(1 for ids in encoded if len(ids) >= self.max_length)
        if cut:
            logger.warning(
                "%d text(s) reached the model limit of %d tokens and were truncated", cut, self.max_length
            )
        return encoded

    def _forward(self, batch_ids: list[list[int]]) -> np.ndarray:
        """Pad one batch to its longest member, run the model and return CPU logits."""
        width = max(len(ids) for ids in batch_ids)
        pad_id = self.tokenizer.pad_token_id or 0
        input_ids = np.full((len(batch_ids), width), pad_id, dtype=np.int64)
        attention = np.zeros((len(batch_ids), width), dtype=np.int64)
        for row, ids in enumerate(batch_ids):
            input_ids[row, : len(ids)] = ids
            attention[row, : len(ids)] = 1
        pin = self.device.type == "cuda"
        tensors = {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(attention)}
        tensors = {
            k: (v.pin_memory() if pin else v).to(self.device, non_blocking=pin) for k, v in tensors.items()
        }
        with torch.inference_mode(), self._autocast():
            logits = self.model(**tensors).logits
        return logits.float().cpu().numpy()

    def _postprocess(self, texts: list[str], proba: np.ndarray, top_k: int | None) -> list[Prediction]:
        """Build sorted :class:`Prediction` objects from a probability matrix."""
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
        labels = self.labels
        keep = len(labels) if top_k is None else min(top_k, len(labels))
        order = np.argsort(-proba, axis=1, kind="stable")[:, :keep]
        predictions = []
        for text, row, ranked in zip(texts, proba, order):
            scores = {labels[j]: float(row[j]) for j in ranked}
            predictions.append(Prediction(text, labels[ranked[0]], float(row[ranked[0]]), scores))
        return predictions

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self._autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self._autocast_dtype)

    def __repr__(self) -> str:
        return (
            f"Classifier(source={self.source!r}, labels={self.labels}, device='{self.device}', "
            f"precision='{self.precision}', max_length={self.max_length})"
        )


def _hide_bar(show_progress_bar: bool | None) -> bool:
    if show_progress_bar is None:
        return logging.getLogger("kontak_nlp").getEffectiveLevel() > logging.INFO
    return not show_progress_bar
