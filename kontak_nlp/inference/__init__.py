"""Inference: runtime options, the model loader, batching, the fp32 recheck of int8 near ties.

Example:
    >>> from kontak_nlp.inference import RuntimeOptions, load_model
    >>> model = load_model("default", RuntimeOptions(device="cpu"))  # doctest: +SKIP
"""

from __future__ import annotations

from kontak_nlp.inference.loader import load_model
from kontak_nlp.inference.options import RuntimeOptions

__all__ = ["RuntimeOptions", "load_model"]
