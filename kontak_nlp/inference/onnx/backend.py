"""ONNX Runtime backend: the same prediction surface as :class:`~kontak_nlp.Classifier`.

The model is exported with ``torch.onnx`` on first use and cached (see :func:`ensure_onnx`);
``quantize="int8"`` adds ONNX Runtime dynamic int8 quantization. Inference uses the same
length-sorted dynamic padding as the torch path, so logits agree with it to float precision
(fp32) or to quantization noise (int8). With int8, rows whose top-two logit margin is below
``recheck_margin`` are recomputed by the fp32 graph, so labels near a decision boundary are the
fp32 labels (``docs/int8.md``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from kontak_nlp.errors import ModelLoadError
from kontak_nlp.inference.onnx.export import DEFAULT_OPSET, ensure_onnx
from kontak_nlp.inference.options import RuntimeOptions
from kontak_nlp.inference.predictor import PredictorBase

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


def _checked_session(model_file: Path, device: str, num_threads: int | None) -> Any:
    try:
        return _session(model_file, device, num_threads)
    except ModelLoadError:
        raise
    except Exception as err:  # onnxruntime raises its own exception types
        raise ModelLoadError(f"{model_file}: ONNX Runtime cannot load it ({err})") from err


def _tokenizer_dir(path: Path) -> Path:
    if (path / "tokenizer_config.json").exists() or (path / "tokenizer.json").exists():
        return path
    from kontak_nlp.backbone import resolve_base
    from kontak_nlp.inference.model_io import KONTAK_CONFIG, read_json

    return Path(resolve_base(read_json(path / KONTAK_CONFIG).get("base")))


class OnnxClassifier(PredictorBase):
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
        from kontak_nlp.inference.model_io import model_max_length

        self.session, self.tokenizer, self._config = session, tokenizer, config
        self.max_length = max_length or model_max_length(SimpleNamespace(config=config), tokenizer)
        self.input_names = [i.name for i in session.get_inputs()]
        self.source: str | None = None
        self.quantize: str | None = None
        self.device = "cpu"
        self.precision = "fp32"

    @property
    def config(self) -> Any:
        """The ``transformers`` config of the exported model."""
        return self._config

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        options: RuntimeOptions | None = None,
        *,
        device: str = "cpu",
        threads: int | None = None,
        opset: int = DEFAULT_OPSET,
    ) -> OnnxClassifier:
        """Load (exporting and caching on first use) the ONNX version of a model directory.

        :func:`kontak_nlp.inference.load_model` calls this with the resolved device and threads.

        Args:
            options: ``quantize`` (None: fp32, ``"int8"``: dynamic int8), ``recheck_margin`` (with
                int8, rows whose top-two logit margin is below it are computed again by the fp32
                graph; 0 turns the recheck off) and ``batch_size``.

        Example:
            >>> opts = RuntimeOptions(backend="onnx", quantize="int8")
            >>> clf = OnnxClassifier.from_pretrained("runs/news4", opts)  # doctest: +SKIP
            >>> clf.recheck_with  # doctest: +SKIP
            OnnxClassifier(source='runs/news4', labels=[...], quantize=None, max_length=512)
        """
        from transformers import AutoConfig, AutoTokenizer

        from kontak_nlp.inference.model_io import check_model_dir

        options = options or RuntimeOptions(backend="onnx")
        local = Path(path)
        check_model_dir(local)
        config = AutoConfig.from_pretrained(str(local), trust_remote_code=False)
        tokenizer = AutoTokenizer.from_pretrained(str(_tokenizer_dir(local)), trust_remote_code=False)

        def load(kind: str | None) -> OnnxClassifier:
            model_file = ensure_onnx(local, quantize=kind, opset=opset)
            clf = cls(_checked_session(model_file, device, threads), tokenizer, config)
            clf.source, clf.quantize, clf.device = str(path), kind, device
            clf.precision, clf.batch_size = ("int8" if kind else "fp32"), options.batch_size
            return clf

        clf = load(options.quantize)
        if options.quantize and options.recheck_margin > 0:
            clf.recheck_with, clf.recheck_margin = load(None), options.recheck_margin
        return clf

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        return self.session.run(["logits"], {k: v for k, v in feed.items() if k in self.input_names})[0]

    def __repr__(self) -> str:
        return (
            f"OnnxClassifier(source={self.source!r}, labels={self.labels}, quantize={self.quantize!r}, "
            f"max_length={self.max_length}{_recheck_repr(self)})"
        )


def _recheck_repr(clf: PredictorBase) -> str:
    return f", recheck_margin={clf.recheck_margin}" if clf.rechecks_near_ties else ""
