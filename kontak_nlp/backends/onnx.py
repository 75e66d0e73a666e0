"""ONNX Runtime backend: the same prediction surface as :class:`~kontak_nlp.Classifier`.

The model is exported with ``torch.onnx`` on first use and cached (see :func:`ensure_onnx`);
``quantize="int8"`` adds ONNX Runtime dynamic int8 quantization. Inference uses the same
length-sorted dynamic padding as the torch path, so logits agree with it to float precision
(fp32) or to quantization noise (int8).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from kontak_nlp._batching import length_sorted_batches, softmax
from kontak_nlp._inputs import coerce_texts
from kontak_nlp.backends._export import DEFAULT_OPSET, ensure_onnx
from kontak_nlp.errors import ModelLoadError
from kontak_nlp.schema import Prediction

logger = logging.getLogger(__name__)

__all__ = ["OnnxClassifier", "ensure_onnx"]


def _session(model_file: Path, device: str, num_threads: int | None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.inter_op_num_threads = 1
    if num_threads:
        options.intra_op_num_threads = num_threads
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ModelLoadError("--backend onnx on CUDA needs onnxruntime-gpu (pip install onnxruntime-gpu)")
        index = int(device.split(":")[1]) if ":" in device else 0
        providers = [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    return ort.InferenceSession(str(model_file), options, providers=providers)


def _tokenizer_dir(path: Path) -> Path:
    if (path / "tokenizer_config.json").exists() or (path / "tokenizer.json").exists():
        return path
    from kontak_nlp._model_io import KONTAK_CONFIG, _read_json
    from kontak_nlp.backbone import resolve_base

    return Path(resolve_base(_read_json(path / KONTAK_CONFIG).get("base")))


class OnnxClassifier:
    """A sentence classifier run by ONNX Runtime (fp32 or dynamic int8).

    Args:
        session: An ``onnxruntime.InferenceSession`` taking ``input_ids`` and ``attention_mask``.
        tokenizer: The model's fast tokenizer.
        config: The model's ``transformers`` config (for ``id2label`` and the temperature).

    Example:
        >>> clf = OnnxClassifier.from_pretrained("runs/news4", quantize="int8")  # doctest: +SKIP
        >>> clf.predict(["Kedua menteri bertemu di Jakarta."])  # doctest: +SKIP
        ['meeting_report']
    """

    def __init__(self, session: Any, tokenizer: Any, config: Any, *, max_length: int | None = None) -> None:
        from kontak_nlp._model_io import model_max_length

        self.session, self.tokenizer, self.config = session, tokenizer, config
        self.max_length = max_length or model_max_length(SimpleNamespace(config=config), tokenizer)
        self.input_names = [i.name for i in session.get_inputs()]
        self.source: str | None = None
        self.quantize: str | None = None
        self.device = "cpu"

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        quantize: str | None = None,
        device: str = "cpu",
        num_threads: int | None = None,
        opset: int = DEFAULT_OPSET,
    ) -> OnnxClassifier:
        """Load (exporting and caching on first use) the ONNX version of a model directory.

        Example:
            >>> clf = OnnxClassifier.from_pretrained("runs/news4")  # doctest: +SKIP
        """
        from transformers import AutoConfig, AutoTokenizer

        from kontak_nlp._model_io import check_model_dir

        local = Path(path)
        check_model_dir(local)
        model_file = ensure_onnx(local, quantize=quantize, opset=opset)
        try:
            session = _session(model_file, device, num_threads)
        except ModelLoadError:
            raise
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelLoadError(f"{model_file}: ONNX Runtime cannot load it ({err})") from err
        config = AutoConfig.from_pretrained(str(local))
        clf = cls(session, AutoTokenizer.from_pretrained(str(_tokenizer_dir(local))), config)
        clf.source, clf.quantize, clf.device = str(path), quantize, device
        return clf

    @property
    def labels(self) -> list[str]:
        """Label names in column order of :meth:`predict_proba`."""
        from kontak_nlp._model_io import ordered_labels

        return ordered_labels(self.config)

    @property
    def classes_(self) -> np.ndarray:
        """scikit-learn style alias of :attr:`labels`."""
        return np.asarray(self.labels, dtype=object)

    @property
    def temperature(self) -> float:
        """The calibration temperature stored in the model config (1.0 when none is stored)."""
        return float(getattr(self.config, "calibration_temperature", None) or 1.0)

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
        encoded = self.tokenizer(values, truncation=True, max_length=self.max_length)["input_ids"]
        for indices in length_sorted_batches([len(ids) for ids in encoded], batch_size):
            out[indices] = self._forward([encoded[i] for i in indices])
        return out

    def _forward(self, batch_ids: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch_ids)
        pad_id = self.tokenizer.pad_token_id or 0
        input_ids = np.full((len(batch_ids), width), pad_id, dtype=np.int64)
        attention = np.zeros((len(batch_ids), width), dtype=np.int64)
        for row, ids in enumerate(batch_ids):
            input_ids[row, : len(ids)] = ids
            attention[row, : len(ids)] = 1
        feed = {"input_ids": input_ids, "attention_mask": attention}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        return self.session.run(["logits"], {k: v for k, v in feed.items() if k in self.input_names})[0]

    def predict_proba(
        self,
        texts: Iterable[str] | str,
        *,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        calibrated: bool = True,
    ) -> np.ndarray:
        """Probabilities, shape ``(n, n_labels)``, columns in :attr:`labels` order.

        Example:
            >>> clf.predict_proba(["Halo."]).sum()  # doctest: +SKIP
            1.0
        """
        logits = self.predict_logits(texts, batch_size=batch_size)
        return softmax(logits, self.temperature if calibrated else 1.0)

    def predict(
        self, texts: Iterable[str] | str, *, batch_size: int = 32, show_progress_bar: bool | None = None
    ) -> list[str]:
        """The most probable label of each text, in input order.

        Example:
            >>> clf.predict("Menlu RI bertemu Menlu Jepang.")  # doctest: +SKIP
            ['meeting_report']
        """
        labels = self.labels
        return [labels[i] for i in self.predict_proba(texts, batch_size=batch_size).argmax(axis=1)]

    def classify(
        self,
        texts: Iterable[str] | str,
        *,
        top_k: int | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> list[Prediction]:
        """One :class:`Prediction` per text (always a list), in input order.

        Example:
            >>> clf.classify(["Kedua menteri bertemu di Jakarta."])[0].label  # doctest: +SKIP
            'meeting_report'
        """
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
        values, _ = coerce_texts(texts)
        proba = self.predict_proba(values, batch_size=batch_size)
        labels = self.labels
        keep = len(labels) if top_k is None else min(top_k, len(labels))
        order = np.argsort(-proba, axis=1, kind="stable")[:, :keep]
        return [
            Prediction(
                text, labels[ranked[0]], float(row[ranked[0]]), {labels[j]: float(row[j]) for j in ranked}
            )
            for text, row, ranked in zip(values, proba, order)
        ]

    def __repr__(self) -> str:
        return (
            f"OnnxClassifier(source={self.source!r}, labels={self.labels}, quantize={self.quantize!r}, "
            f"max_length={self.max_length})"
        )
