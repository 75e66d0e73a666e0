"""Load a model for a batch job: backend, precision, int8 quantization and CPU threads in one place."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kontak_nlp._recheck import DEFAULT_RECHECK_MARGIN, checked_margin
from kontak_nlp.errors import KontakError, ModelLoadError

logger = logging.getLogger(__name__)

_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def physical_cores() -> int:
    """Physical CPU cores available to this process (hyper-threads not counted).

    Example:
        >>> physical_cores() >= 1
        True
    """
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (macOS, Windows)
        available = os.cpu_count() or 1
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or available
        logical = psutil.cpu_count(logical=True) or available
        per_core = max(1, logical // physical)
    except ImportError:
        per_core = 1
    return max(1, available // per_core)


def configure_threads(num_threads: int | None = None) -> int:
    """Set torch's intra-op threads: ``num_threads``, else physical cores unless ``OMP_NUM_THREADS``
    (or ``MKL_NUM_THREADS``) is set, in which case torch's own choice is kept. Returns the count.

    Example:
        >>> configure_threads(1)
        1
    """
    import torch

    if num_threads is None and any(os.environ.get(name) for name in _THREAD_ENV):
        return torch.get_num_threads()
    threads = num_threads or physical_cores()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


@dataclass(frozen=True)
class PrecisionChoice:
    """What ``--precision`` resolved to on this machine, and why."""

    name: str
    reason: str


def choose_precision(
    precision: str, device: Any, backend: str = "torch", quantize: str | None = None
) -> PrecisionChoice:
    """Resolve ``precision`` for a device and backend, with a human-readable reason.

    Example:
        >>> import torch
        >>> choose_precision("fp32", torch.device("cpu")).name
        'fp32'
    """
    from kontak_nlp._batching import cpu_supports_bf16

    if quantize:
        return PrecisionChoice("int8", f"--quantize {quantize}: dynamic int8 ({backend})")
    if backend == "onnx":
        return PrecisionChoice("fp32", "ONNX Runtime runs fp32 (use --quantize int8 for the fast path)")
    if precision != "auto":
        return PrecisionChoice(precision, f"--precision {precision}")
    if device.type == "cuda":
        import torch

        name = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return PrecisionChoice(name, f"auto: {name} autocast on GPU")
    if device.type == "cpu" and cpu_supports_bf16():
        return PrecisionChoice("bf16", "auto: bf16, the CPU has native bf16 (AVX512-BF16/AMX)")
    return PrecisionChoice("fp32", "auto: fp32, the CPU has no native bf16 instructions")


def quantize_torch_int8(clf: Any) -> Any:
    """Replace the encoder's ``nn.Linear`` layers of a CPU :class:`Classifier` with dynamic int8 ones,
    in place. The small pooler/classifier head stays fp32: int8 noise there lands on the logits.

    Example:
        >>> clf = Classifier.from_pretrained("runs/news4", device="cpu")  # doctest: +SKIP
        >>> clf = quantize_torch_int8(clf)  # doctest: +SKIP
    """
    import torch

    if clf.device.type != "cpu":
        raise ValueError("--quantize int8 with --backend torch runs on the CPU only; pass --device cpu")
    linear = [name for name, m in clf.model.named_modules() if isinstance(m, torch.nn.Linear)]
    encoder = {name for name in linear if ".encoder." in f".{name}."} or set(linear[:-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.model = torch.ao.quantization.quantize_dynamic(clf.model, encoder, dtype=torch.qint8)
    clf.precision, clf._autocast_dtype = "fp32", None
    return clf


def load_model(
    path: str | Path | None,
    *,
    backend: str = "torch",
    device: str = "auto",
    precision: str = "auto",
    quantize: str | None = None,
    num_threads: int | None = None,
    recheck_margin: float = DEFAULT_RECHECK_MARGIN,
) -> tuple[Any, PrecisionChoice]:
    """Load the model a job runs: a torch :class:`Classifier` or an :class:`OnnxClassifier`.

    With ``quantize="int8"`` the model also carries its fp32 version as ``recheck_with``: rows
    whose top-two logit margin is below ``recheck_margin`` are recomputed in fp32 (0 turns this
    off). Any failure to read the model becomes :class:`ModelLoadError` (exit code 3 in the CLI).

    Example:
        >>> model, choice = load_model("runs/news4", device="cpu", precision="auto")  # doctest: +SKIP
        >>> choice.name  # doctest: +SKIP
        'bf16'
    """
    from kontak_nlp._batching import resolve_device

    target = _model_path(path)
    resolved = resolve_device(_onnx_auto_device() if backend == "onnx" and device == "auto" else device)
    choice = choose_precision(precision, resolved, backend, quantize)
    if quantize and backend == "torch" and resolved.type != "cpu":
        raise ValueError("--quantize int8 with --backend torch runs on the CPU only; pass --device cpu")
    threads = configure_threads(num_threads) if resolved.type == "cpu" else None
    try:
        if backend == "onnx":
            from kontak_nlp.backends.onnx import OnnxClassifier

            model = OnnxClassifier.from_pretrained(
                target, quantize=quantize, device=str(resolved), num_threads=threads,
                recheck_margin=recheck_margin,
            )  # fmt: skip
        else:
            from kontak_nlp.model import Classifier

            torch_precision = "fp32" if choice.name == "int8" else choice.name
            model = Classifier.from_pretrained(target, device=resolved, precision=torch_precision)
            if quantize:
                model = _torch_int8(model, recheck_margin)
    except KontakError:
        raise
    except Exception as err:  # OSError, safetensors, JSON, tokenizer errors...
        raise ModelLoadError(f"{target}: cannot load the model ({type(err).__name__}: {err})") from err
    logger.info("model %s: backend %s, %s on %s (%s)", target, backend, choice.name, resolved, choice.reason)
    return model, choice


def _torch_int8(fp32: Any, recheck_margin: float) -> Any:
    """A dynamic int8 copy of a CPU :class:`Classifier`, rechecking near-ties with ``fp32``."""
    import copy

    checked_margin(recheck_margin)
    logger.warning(
        "torch dynamic int8 moves logits about 3x more than --backend onnx --quantize int8, beyond "
        "what the fp32 recheck catches (benchmarks/results/int8_error.json); prefer the ONNX backend"
    )
    if recheck_margin == 0:
        return quantize_torch_int8(fp32)
    int8 = quantize_torch_int8(copy.deepcopy(fp32))
    int8.recheck_with, int8.recheck_margin = fp32, recheck_margin
    return int8


def _onnx_auto_device() -> str:
    """``auto`` for ONNX Runtime: CUDA only when onnxruntime-gpu can use it, else the CPU."""
    import onnxruntime as ort
    import torch

    gpu = torch.cuda.is_available() and "CUDAExecutionProvider" in ort.get_available_providers()
    return "cuda" if gpu else "cpu"


def _model_path(path: str | Path | None) -> str | Path:
    if path is not None:
        return path
    from kontak_nlp.api import default_model_path

    return default_model_path()
