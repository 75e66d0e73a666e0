"""Pure helpers for inference: length-sorted batch plans, device and precision resolution."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Yield index arrays that cover ``range(len(lengths))``, longest texts first.

    Sorting by length lets every batch be padded only to its own longest member. Writing each
    batch's results to ``out[indices]`` restores the input order.

    Example:
        >>> [b.tolist() for b in length_sorted_batches([3, 9, 1, 5], batch_size=2)]
        [[1, 3], [0, 2]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Map ``"auto"|"cpu"|"cuda"|"cuda:N"|"mps"`` to a ``torch.device``, checking availability.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
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


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 matrix instructions (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """Return the autocast dtype for ``precision`` (``fp32|bf16|fp16|auto``); None means plain fp32.

    ``auto`` picks bf16 on GPUs that support it (fp16 otherwise) and on CPUs with native bf16
    instructions, fp32 elsewhere.

    Example:
        >>> resolve_precision("fp32", torch.device("cpu")) is None
        True
    """
    if precision not in {"fp32", "bf16", "fp16", "auto"}:
        raise ValueError(f"precision={precision!r}; expected one of fp32, bf16, fp16, auto")
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if device.type == "cpu" and cpu_supports_bf16() else None


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature`` computed stably in float64, returned as float32.

    Example:
        >>> softmax(np.array([[0.0, 0.0]])).tolist()
        [[0.5, 0.5]]
    """
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
