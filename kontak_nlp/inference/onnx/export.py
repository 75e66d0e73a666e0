"""Export a classifier to ONNX once, quantize it, and cache the files by model checksum and opset.

The cache lives in ``$KONTAK_NLP_HOME/onnx/<checksum[:16]>/`` (default: the user cache dir, e.g.
``~/.cache/kontak_nlp``), never in the model or package directory, which may be read-only and is
left behind by ``pip uninstall``. Files are written to a temporary name and renamed, so concurrent
jobs never load a half-written model. The export logs each step with its duration; the int8 path
frees the torch model before quantizing, to keep the peak memory down.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kontak_nlp.checksums import CHECKSUM_FILE
from kontak_nlp.errors import ModelLoadError

logger = logging.getLogger(__name__)

DEFAULT_OPSET = 17
HOME_ENV = "KONTAK_NLP_HOME"  # as kontak_nlp.backbone.HOME_ENV (not imported: that pulls in platformdirs)
_HASHED = ("config.json", "model.safetensors", "adapter_model.safetensors", "adapter_config.json")


def model_checksum(path: str | Path) -> str:
    """A sha256 that changes whenever the model's weights, config or tokenizer change.

    Uses ``checksums.json`` (written by kontak_nlp on save) when present, else hashes the config
    and weight files. A hub id (not a local directory) hashes to the id itself.

    Example:
        >>> len(model_checksum("runs/news4"))  # doctest: +SKIP
        64
    """
    local = Path(path)
    digest = hashlib.sha256()
    if not local.is_dir():
        digest.update(str(path).encode("utf-8"))
        return digest.hexdigest()
    listing = local / CHECKSUM_FILE
    names = [CHECKSUM_FILE] if listing.exists() else [n for n in _HASHED if (local / n).exists()]
    for name in names:
        digest.update(name.encode("utf-8") + b"\0")
        with open(local / name, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def _home() -> Path:
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("kontak_nlp")).expanduser()


def cache_dir(model_path: str | Path, checksum: str) -> Path:
    """Where the ONNX files of a model go: ``<home>/onnx/<checksum[:16]>`` (``model_path`` is unused
    and kept for callers).

    Example:
        >>> cache_dir("runs/news4", "ab" * 32).parts[-2:]
        ('onnx', 'abababababababab')
    """
    folder = _home() / "onnx" / checksum[:16]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ModelLoadError(
            f"{folder}: cannot create the ONNX cache ({err.strerror or err}); set {HOME_ENV} to a writable "
            "directory"
        ) from err
    return folder


INT8_RECIPE = "sq08"  # SmoothQuant alpha 0.8 on the FFN output projections, then dynamic int8


def onnx_file_name(checksum: str, opset: int, quantize: str | None) -> str:
    """The cache file name: ``model-<checksum[:16]>-opset<N>[-int8-<recipe>].onnx``.

    Example:
        >>> onnx_file_name("0123456789abcdef" * 4, 17, "int8")
        'model-0123456789abcdef-opset17-int8-sq08.onnx'
    """
    suffix = f"-{quantize}-{INT8_RECIPE}" if quantize else ""
    return f"model-{checksum[:16]}-opset{opset}{suffix}.onnx"


def graph_record(target: Path) -> Path:
    """The file recording a cached graph's sha256 and size: ``<graph>.sha256.json``.

    Example:
        >>> graph_record(Path("onnx/model-ab-opset17.onnx")).name
        'model-ab-opset17.onnx.sha256.json'
    """
    return target.with_name(target.name + ".sha256.json")


def _describe(file: Path) -> dict[str, Any]:
    from kontak_nlp.checksums import sha256_file

    return {"sha256": sha256_file(file), "size": file.stat().st_size}


_VERIFIED: dict[tuple[str, int, int], bool] = {}  # (path, mtime_ns, size) -> graph matched its record


def graph_matches_record(target: Path) -> bool:
    """Whether ``target`` is the graph kontak_nlp wrote: same size and sha256 as in its record.

    A graph with no record (planted, or from an older version) or a different hash does not match.
    Results are cached per process by path, mtime and size.

    Example:
        >>> graph_matches_record(Path("/nonexistent/model.onnx"))
        False
    """
    try:
        stat = target.stat()
        record = json.loads(graph_record(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    key = (str(target.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _VERIFIED:
        _VERIFIED[key] = isinstance(record, dict) and record == _describe(target)
    return _VERIFIED[key]


@contextlib.contextmanager
def _publishing(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success record its checksum, then rename it
    over ``target`` (the record comes first, so a published graph always has one)."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        record = json.dumps(_describe(tmp), sort_keys=True) + "\n"
        graph_record(target).write_text(record, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _logits_module(model: Any) -> Any:
    """Wrap a sequence classifier so the graph maps (input_ids, attention_mask) to logits.

    BERT classifiers get :class:`~kontak_nlp.inference.onnx.bert_graph.FirstTokenLogits` (the last
    layer computed for the first token only); other architectures their own forward.
    """
    import torch

    from kontak_nlp.inference.onnx.bert_graph import FirstTokenLogits, supports_first_token_graph

    if supports_first_token_graph(model):
        return FirstTokenLogits(model).eval()

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    return LogitsOnly(model).eval()


def export_onnx(model: Any, tokenizer: Any, target: Path, *, opset: int = DEFAULT_OPSET) -> Path:
    """Export a transformers sequence classifier to ``target`` with dynamic batch and length axes.

    Example:
        >>> clf = Classifier.from_pretrained("runs/news4", device="cpu")  # doctest: +SKIP
        >>> export_onnx(clf.model, clf.tokenizer, Path("news4.onnx"))  # doctest: +SKIP
    """
    import torch

    sample = tokenizer(
        ["Menlu RI bertemu Menlu Jepang di Tokyo.", "Halo."], padding=True, return_tensors="pt"
    )
    inputs = (sample["input_ids"], sample["attention_mask"])
    axes = {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"}}
    axes["logits"] = {0: "batch"}
    wrapper = _logits_module(model.float().cpu().eval())
    logger.debug("exporting the model to ONNX (opset %d): %s", opset, target)
    with _publishing(target) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(
                wrapper,
                inputs,
                str(tmp),
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=opset,
                dynamo=False,
            )
    return target


class _QuietRootWarning(logging.Filter):
    """ONNX Runtime's quantizer logs to the root logger: its INFO lines ("Quantization parameters
    ...") and its advice to pre-process are noise to a kontak_nlp user."""

    def filter(self, record: logging.LogRecord) -> bool:
        advice = "pre-processing before quantization" in record.getMessage()
        return record.levelno >= logging.WARNING and not advice


def encoder_weight_nodes(model_file: Path) -> list[str]:
    """MatMul/Gemm nodes that multiply by a weight inside the encoder: what int8 should quantize.

    Left in fp32: activation x activation products (attention scores), whose dynamic quantization
    costs accuracy for little speed, and the small pooler/classifier head, where int8 noise lands
    directly on the logits.

    Example:
        >>> encoder_weight_nodes(Path("model.onnx"))[:1]  # doctest: +SKIP
        ['/inner/bert/encoder/layer.0/attention/self/query/MatMul']
    """
    import onnx

    graph = onnx.load(str(model_file), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    nodes = [n for n in graph.node if n.op_type in ("MatMul", "Gemm") and n.input[1] in weights]
    head = ("pooler", "classifier", "score")  # names in transformers' and the first-token graphs
    return [n.name for n in nodes if not any(f"/{part}" in n.name for part in head)]


def quantize_int8(source: Path, target: Path) -> Path:
    """Dynamic int8 quantization (int8 weights per channel, activations quantized on the fly) of the
    encoder's weight matrix products; see :func:`encoder_weight_nodes`. :func:`ensure_onnx` passes
    a graph exported from a smoothed model (:mod:`kontak_nlp.inference.onnx.smooth`).

    Example:
        >>> quantize_int8(Path("model.onnx"), Path("model-int8.onnx"))  # doctest: +SKIP
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = _QuietRootWarning()
    logging.getLogger().addFilter(quiet)
    logger.debug("quantizing %s to int8", source.name)
    try:
        with _publishing(target) as tmp:
            quantize_dynamic(
                str(source),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=True,
                nodes_to_quantize=encoder_weight_nodes(source),
            )
    finally:
        logging.getLogger().removeFilter(quiet)
    return target


def ensure_onnx(model_path: str | Path, *, quantize: str | None = None, opset: int = DEFAULT_OPSET) -> Path:
    """The cached ONNX file of a model, exporting (and quantizing) it on first use.

    A cached file is used only when it matches the sha256 recorded when it was written
    (:func:`graph_matches_record`); otherwise it is exported again.

    Raises:
        ModelLoadError: The model cannot be loaded or exported.

    Example:
        >>> ensure_onnx("runs/news4", quantize="int8")  # doctest: +SKIP
        PosixPath('runs/news4/onnx/model-3f9a...-opset17-int8-sq08.onnx')
    """
    if quantize not in (None, "int8"):
        raise ValueError(f"quantize={quantize!r}; expected None or 'int8'")
    checksum = model_checksum(model_path)
    folder = cache_dir(model_path, checksum)
    target = folder / onnx_file_name(checksum, opset, quantize)
    if graph_matches_record(target):
        return target
    if target.exists():
        logger.warning(
            "%s does not match its recorded sha256 (%s): not the graph kontak_nlp exported; exporting "
            "it again",
            target,
            graph_record(target).name,
        )
    steps = 2 if quantize is None else 4
    with _step(1, steps, f"loading {model_path} for the ONNX export"):
        from kontak_nlp.inference.torch_backend import Classifier

        clf = Classifier.from_pretrained(model_path, device="cpu", precision="fp32", fast_path=False)
    try:
        if quantize is None:
            with _step(2, steps, f"exporting the fp32 graph to {target}"):
                return export_onnx(clf.model, clf.tokenizer, target, opset=opset)
        from kontak_nlp.inference.onnx.smooth import smooth_for_int8

        with _step(2, steps, "smoothing the FFN activations for int8 (SmoothQuant)"):
            model = smooth_for_int8(clf.model, clf.tokenizer)  # our own fresh copy: smooth in place
        with tempfile.TemporaryDirectory(dir=folder, prefix=".smoothed-") as tmp:
            with _step(3, steps, "exporting the smoothed fp32 graph"):
                source = export_onnx(model, clf.tokenizer, Path(tmp) / "smoothed.onnx", opset=opset)
            del clf, model  # the torch weights are not needed to quantize: free them first
            gc.collect()
            with _step(4, steps, f"quantizing to int8: {target}"):
                return quantize_int8(source, target)
    except (RuntimeError, TypeError, ValueError) as err:
        raise ModelLoadError(f"{model_path}: ONNX export failed ({err})") from err


@contextlib.contextmanager
def _step(number: int, total: int, what: str) -> Iterator[None]:
    """Log the start and the duration of one export step (the export takes about a minute)."""
    import time

    logger.info("ONNX export %d/%d: %s", number, total, what)
    start = time.perf_counter()
    yield
    logger.info("ONNX export %d/%d done in %.1f s", number, total, time.perf_counter() - start)
