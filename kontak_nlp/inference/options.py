"""Runtime options: how a model runs (device, precision, backend, int8, threads, batch size).

:class:`RuntimeOptions` is the one set of runtime settings of the package. ``classify()``,
:class:`~kontak_nlp.Classifier`, ``kontak-nlp classify``, batch jobs and Ray all take it (or its
fields), validate it here once and resolve ``auto`` here once (:meth:`RuntimeOptions.resolve`).

The default is torch fp32 on the CPU or GPU: the labels of every entry point are the fp32 labels.
``precision="auto"`` (bf16 where the hardware has it) and ``backend="onnx", quantize="int8"``
(near ties rechecked in fp32) are faster opt-ins.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from kontak_nlp.inference.recheck import DEFAULT_RECHECK_MARGIN

BACKENDS = ("torch", "onnx")
PRECISIONS = ("fp32", "bf16", "fp16", "auto")
QUANTIZE = (None, "int8")
_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class RuntimeOptions:
    """How a model runs. Every entry point shares these defaults.

    Attributes:
        device: ``"auto"`` (CUDA when present, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        precision: ``"fp32"`` (default), ``"bf16"``, ``"fp16"`` or ``"auto"`` (bf16 on GPUs and on
            CPUs with native bf16, fp16 on older GPUs; labels may then differ from fp32 on near ties).
        backend: ``"torch"`` or ``"onnx"`` (ONNX Runtime; exported once, cached next to the model).
        quantize: None or ``"int8"`` (dynamic int8, ``backend="onnx"`` only).
        recheck_margin: With int8, rows whose top-two logit margin is below this are recomputed in
            fp32, so their labels are the fp32 labels (``docs/int8.md``); 0 keeps raw int8 results.
        threads: CPU threads (None: physical cores unless ``OMP_NUM_THREADS`` is set).
        batch_size: Texts per forward pass.

    Example:
        >>> RuntimeOptions().precision
        'fp32'
        >>> RuntimeOptions(backend="onnx", quantize="int8").resolve().precision
        'int8'
    """

    device: str = "auto"
    precision: str = "fp32"
    backend: str = "torch"
    quantize: str | None = None
    recheck_margin: float = DEFAULT_RECHECK_MARGIN
    threads: int | None = None
    batch_size: int = 32

    def __post_init__(self) -> None:
        for ok, message in self._checks():
            if not ok:
                raise ValueError(message)

    def _checks(self) -> list[tuple[bool, str]]:
        return [
            (
                isinstance(self.device, str) and bool(self.device),
                f"device must be a str, got {self.device!r}",
            ),
            (self.precision in PRECISIONS, f"precision must be one of {PRECISIONS}, got {self.precision!r}"),
            (self.backend in BACKENDS, f"backend must be one of {BACKENDS}, got {self.backend!r}"),
            (self.quantize in QUANTIZE, f"quantize must be None or 'int8', got {self.quantize!r}"),
            (self.recheck_margin >= 0, f"recheck_margin must be >= 0, got {self.recheck_margin}"),
            (self.threads is None or self.threads >= 1, f"threads must be >= 1, got {self.threads}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (
                not (self.quantize and self.backend != "onnx"),
                "quantize='int8' runs on the ONNX backend (backend='onnx'); torch int8 was dropped",
            ),
            (
                not (self.backend == "onnx" and self.precision in ("bf16", "fp16")),
                "precision bf16/fp16 applies to the torch backend; ONNX runs fp32 or quantize='int8'",
            ),
        ]

    def replace(self, **changes: Any) -> RuntimeOptions:
        """A copy with ``changes`` applied (None values are ignored), validated again.

        Example:
            >>> RuntimeOptions().replace(device="cpu", batch_size=None).device
            'cpu'
        """
        given = {name: value for name, value in changes.items() if value is not None}
        return dataclasses.replace(self, **given) if given else self

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    def resolve(self) -> Resolved:
        """Resolve ``auto`` (device and precision) for this machine, with the reason.

        Example:
            >>> RuntimeOptions(device="cpu").resolve()
            Resolved(device=device(type='cpu'), precision='fp32', reason='precision fp32')
        """
        device = resolve_device(_onnx_auto_device() if self._onnx_auto() else self.device)
        precision, reason = _choose_precision(self, device)
        return Resolved(device, precision, reason)

    def _onnx_auto(self) -> bool:
        return self.backend == "onnx" and self.device == "auto"


@dataclass(frozen=True)
class Resolved:
    """What :class:`RuntimeOptions` resolved to on this machine: a device and a concrete precision."""

    device: Any
    precision: str
    reason: str

    @property
    def autocast_dtype(self) -> Any:
        """The torch autocast dtype of :attr:`precision`; None for fp32 (and int8's fp32 twin)."""
        import torch

        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)


def resolve_device(device: Any = "auto") -> Any:
    """Map ``"auto"|"cpu"|"cuda"|"cuda:N"|"mps"`` to a ``torch.device``, checking availability.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    import torch

    if isinstance(device, torch.device):
        return device
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={device!r} is not a valid device (use auto, cpu, cuda or cuda:N)") from err
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but CUDA is not available on this machine")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r}: only {torch.cuda.device_count()} CUDA device(s) present")
    return resolved


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return set(handle.read().split())
    except OSError:
        return set()


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 matrix instructions (AVX512-BF16 or AMX)."""
    flags = _cpu_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_can_run_bf16() -> bool:
    """True when oneDNN can run bf16 on this CPU at all (AVX512 BW/VL/DQ or AVX-NE-CONVERT)."""
    flags = _cpu_flags()
    return {"avx512bw", "avx512vl", "avx512dq"} <= flags or "avx_ne_convert" in flags


def _choose_precision(options: RuntimeOptions, device: Any) -> tuple[str, str]:
    """The concrete precision of ``options`` on ``device``, and why."""
    if options.quantize:
        return "int8", f"quantize {options.quantize}: dynamic int8 (onnx)"
    if options.backend == "onnx":
        return "fp32", "ONNX Runtime runs fp32 (quantize='int8' is the fast path)"
    if options.precision == "bf16" and device.type == "cpu" and not cpu_can_run_bf16():
        raise ValueError(
            "precision='bf16' on the CPU needs AVX512 (BW/VL/DQ) or AVX-NE-CONVERT, which this CPU lacks; "
            "use precision='fp32' (or 'auto')"
        )
    if options.precision != "auto":
        return options.precision, f"precision {options.precision}"
    if device.type == "cuda":
        import torch

        name = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return name, f"auto: {name} autocast on GPU"
    if device.type == "cpu" and cpu_supports_bf16():
        return "bf16", "auto: bf16, the CPU has native bf16 (AVX512-BF16/AMX)"
    return "fp32", "auto: fp32, the CPU has no native bf16 instructions"


def _onnx_auto_device() -> str:
    """``auto`` for ONNX Runtime: CUDA only when onnxruntime-gpu can use it, else the CPU."""
    import onnxruntime as ort
    import torch

    gpu = torch.cuda.is_available() and "CUDAExecutionProvider" in ort.get_available_providers()
    return "cuda" if gpu else "cpu"


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
