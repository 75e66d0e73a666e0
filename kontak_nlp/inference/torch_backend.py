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
        self._configure(device, precision, batch_size, fast_path)
        self._model = model.to(self.device).eval()
        self._tokenizer = tokenizer
        self.max_length = max_length or _model_io.model_max_length(model, tokenizer)

    def _configure(
        self, device: str | torch.device, precision: str, batch_size: int, fast_path: bool
    ) -> None:
        """The runtime settings, and no model yet (both constructors)."""
        self.options = RuntimeOptions(device=str(device), precision=precision, batch_size=batch_size)
        resolved = self.options.resolve()
        self.device, self.precision, self.batch_size = resolved.device, resolved.precision, batch_size
        self._autocast_dtype = resolved.autocast_dtype
        self.source: str | None = None
        self.fast_path = fast_path
        self._fast: tuple[Any, Any] | None = None  # (key, FastBertForward or None)
        self._model: Any = None
        self._tokenizer: Any = None
        self._config: Any = None  # the transformers config, built from the light path's on demand
        self._light: Any = None  # kontak_nlp.inference.light.LightBert: weights before `model` exists

    @classmethod
    def _from_light(cls, light: Any, **settings: Any) -> Classifier:
        """A classifier on the light path (:mod:`kontak_nlp.inference.light`): no transformers model yet."""
        max_length = settings.pop("max_length", None)
        clf = cls.__new__(cls)
        clf._configure(**settings, fast_path=True)
        clf._light = light
        clf.max_length = max_length or light.max_length
        return clf

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

        A local BERT classifier that runs on the CPU in fp32 or bf16 with the fast path loads on the
        light path (:mod:`kontak_nlp.inference.light`: no transformers model code, same labels and
        probabilities); its :attr:`model` and :attr:`tokenizer` are built when first used.

        Example:
            >>> clf = Classifier.from_pretrained("runs/news4")  # doctest: +SKIP
        """
        from kontak_nlp.inference.loader import model_source

        source = model_source(path)
        settings = {"device": device, "precision": precision, "batch_size": batch_size}
        light_tried = fast_path and isinstance(source, Path) and _light_runtime(device, precision)
        if light_tried:
            from kontak_nlp.inference.light import load_light

            light = load_light(source)  # checks the directory, whichever path then loads it
            if light is not None:
                clf = cls._from_light(light, **settings, max_length=max_length)
                clf.source = str(source)
                return clf
        model, tokenizer = _model_io.load_model_and_tokenizer(source, checked=light_tried)
        clf = cls(model, tokenizer, **settings, max_length=max_length, fast_path=fast_path)
        clf.source = str(source)
        return clf

    @property
    def model(self) -> Any:
        """The ``transformers`` model; on the light path it is built from the same weights on first use
        (saving, a GPU, training, ONNX export...), and then runs the predictions."""
        if self._model is None:
            model = self._light.transformers_model(self.config)
            self._model = model.to(self.device).eval()
            self._light.release_weights()
        return self._model

    @model.setter
    def model(self, model: Any) -> None:
        self._model, self._fast = model, None
        if self._light is not None:
            self._light.release_weights()

    @property
    def tokenizer(self) -> Any:
        """The ``transformers`` fast tokenizer; on the light path it is built on first use (texts are
        tokenized by its cached ``tokenizers`` backend, which gives the same ids)."""
        if self._tokenizer is None:
            self._tokenizer = self._light.transformers_tokenizer()
        return self._tokenizer

    @tokenizer.setter
    def tokenizer(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        if self._light is not None:
            self._light.tokenizer = None

    @property
    def _text_tokenizer(self) -> Any:
        light = self._light
        return light.tokenizer if light is not None and light.tokenizer is not None else self.tokenizer

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
        if self._model is not None or self.device.type != "cpu":  # light weights stay on the CPU
            self.model.to(self.device)
        return self

    @property
    def config(self) -> Any:
        """The ``transformers`` config of the model (labels, calibration temperature)."""
        if self._model is not None:
            return self._model.config
        if self._config is None:
            self._config = self._light.transformers_config()
        return self._config

    @property
    def _runtime_config(self) -> Any:
        if self._model is None and self._config is None and self._light is not None:
            return self._light.config  # config.json as read: no transformers import
        return self.config

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
        if self._model is None:  # the light path: no transformers model to check against
            self._fast = (("light", dtype), self._light.forward(dtype))
            return self._fast[1]
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


def _light_runtime(device: str | torch.device, precision: str) -> bool:
    """Whether these options run on the light path: the CPU, fp32 or bf16."""
    resolved = RuntimeOptions(device=str(device), precision=precision).resolve()
    return resolved.device.type == "cpu" and resolved.precision in ("fp32", "bf16")
