"""The :class:`Classifier`: one object that loads, saves and runs a sentence classifier.

Inference runs in three stages, like the transformers text-classification pipeline:
``_preprocess`` tokenizes on the CPU, ``_forward`` is the only code that touches the device,
``_postprocess`` turns logits into calibrated probabilities and :class:`Prediction` objects.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kontak_nlp.inference import model_io as _model_io
from kontak_nlp.inference.options import RuntimeOptions
from kontak_nlp.inference.predictor import PredictorBase

logger = logging.getLogger(__name__)

_DEFAULT = RuntimeOptions()


class Classifier(PredictorBase):
    """A fine-tuned encoder that tags sentences with one label each.

    Args:
        model: A ``transformers`` sequence-classification model (``id2label`` in its config).
        tokenizer: The matching fast tokenizer.
        device: ``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        precision: ``"fp32"`` (the default everywhere), ``"bf16"``, ``"fp16"`` or ``"auto"`` (bf16
            on GPUs and on CPUs with native bf16 support).
        batch_size: Texts per forward pass when a call does not say.
        max_length: Token limit per text; longer texts are truncated with one warning per call.
        fast_path: On the CPU, run BERT-architecture models (e5, IndoBERT) in fp32 or bf16 through
            :mod:`kontak_nlp.inference.fast_bert` (pre-packed oneDNN weights, first-token-only last layer;
            logits equal to the transformers forward within float noise). False always uses the
            plain transformers forward.

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
        device: str | torch.device = _DEFAULT.device,
        precision: str = _DEFAULT.precision,
        batch_size: int = _DEFAULT.batch_size,
        max_length: int | None = None,
        fast_path: bool = True,
    ) -> None:
        self.options = RuntimeOptions(device=str(device), precision=precision, batch_size=batch_size)
        resolved = self.options.resolve()
        self.device, self.precision, self.batch_size = resolved.device, resolved.precision, batch_size
        self._autocast_dtype = resolved.autocast_dtype
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.max_length = max_length or _model_io.model_max_length(model, tokenizer)
        self.source: str | None = None
        self.fast_path = fast_path
        self._fast: tuple[Any, Any] | None = None  # (key, FastBertForward or None)

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_pretrained(
        cls,
        path: str | Path | None = None,
        *,
        device: str | torch.device = _DEFAULT.device,
        precision: str = _DEFAULT.precision,
        batch_size: int = _DEFAULT.batch_size,
        max_length: int | None = None,
        fast_path: bool = True,
    ) -> Classifier:
        """Load a classifier: a model directory (plain HF or kontak adapter dir), ``"default"`` or
        None (the shipped model), or a hub id. Options as :class:`~kontak_nlp.inference.RuntimeOptions`.

        Example:
            >>> clf = Classifier.from_pretrained("runs/news4")  # doctest: +SKIP
        """
        from kontak_nlp.inference.loader import model_source

        source = model_source(path)
        model, tokenizer = _model_io.load_model_and_tokenizer(source)
        clf = cls(
            model,
            tokenizer,
            device=device,
            precision=precision,
            batch_size=batch_size,
            max_length=max_length,
            fast_path=fast_path,
        )
        clf.source = str(source)
        return clf

    def save_pretrained(self, path: str | Path, *, merged: bool = True) -> Path:
        """Save as a plain Hugging Face directory (``merged=True``) or as a small adapter directory.

        A merged directory loads with ``transformers.pipeline("text-classification", model=path)``.

        Example:
            >>> clf.save_pretrained("my-model")  # doctest: +SKIP
        """
        return _model_io.save_model(self.model, self.tokenizer, Path(path), merged=merged)

    def to(self, device: str | torch.device) -> Classifier:
        """Move the model to ``device`` and return ``self`` (``precision="auto"`` is resolved again)."""
        self.options = self.options.replace(device=str(device))
        resolved = self.options.resolve()
        self.device, self.precision, self._autocast_dtype = (
            resolved.device,
            resolved.precision,
            resolved.autocast_dtype,
        )
        self.model.to(self.device)
        return self

    @property
    def config(self) -> Any:
        """The ``transformers`` config of the model (labels, calibration temperature)."""
        return self.model.config

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Run one padded batch on the device and return CPU logits (the only device code)."""
        fast = self._fast_forward()
        if fast is not None:
            with torch.inference_mode():
                return fast(torch.from_numpy(input_ids), torch.from_numpy(attention_mask)).numpy()
        pin = self.device.type == "cuda"
        tensors = {
            "input_ids": torch.from_numpy(input_ids),
            "attention_mask": torch.from_numpy(attention_mask),
        }
        tensors = {
            k: (v.pin_memory() if pin else v).to(self.device, non_blocking=pin) for k, v in tensors.items()
        }
        with torch.inference_mode(), self._autocast():
            logits = self.model(**tensors).logits
        return logits.float().cpu().numpy()

    def _fast_forward(self) -> Any:
        """The checked fast CPU forward for the current weights and precision, or None."""
        dtype = {None: torch.float32, torch.bfloat16: torch.bfloat16}.get(self._autocast_dtype, "other")
        if not self.fast_path or self.device.type != "cpu" or dtype == "other":
            return None
        from kontak_nlp.inference.fast_bert import build_fast_forward, weights_signature

        key = (id(self.model), weights_signature(self.model), dtype)
        if self._fast is None or self._fast[0] != key:
            self._fast = (key, build_fast_forward(self.model, dtype))
        return self._fast[1]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_fast"] = None  # packed oneDNN weights do not pickle; rebuilt on first use
        return state

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self._autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self._autocast_dtype)

    def __repr__(self) -> str:
        return (
            f"Classifier(source={self.source!r}, labels={self.labels}, device='{self.device}', "
            f"precision='{self.precision}', max_length={self.max_length})"
        )
