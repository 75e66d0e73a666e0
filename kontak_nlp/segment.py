"""Compatibility path: the segmenter lives in :mod:`kontak_nlp.text.segment`.

Example:
    >>> from kontak_nlp.segment import segment
    >>> len(segment("Menlu tiba. Ia disambut."))
    2
"""

from kontak_nlp.text.boilerplate import is_boilerplate
from kontak_nlp.text.segment import (
    DEFAULT_ABBREVIATIONS,
    Segmentation,
    SegmenterConfig,
    Sentence,
    segment,
    split_sentences,
)

__all__ = [
    "DEFAULT_ABBREVIATIONS",
    "Segmentation",
    "SegmenterConfig",
    "Sentence",
    "is_boilerplate",
    "segment",
    "split_sentences",
]
