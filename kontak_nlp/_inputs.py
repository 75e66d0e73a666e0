"""Validation of user texts: every row is checked, bad rows are named, none is dropped."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

from kontak_nlp.errors import InputError

logger = logging.getLogger(__name__)

_MAX_REPORTED = 5


def _is_pandas_series(obj: Any) -> bool:
    return type(obj).__name__ == "Series" and hasattr(obj, "index") and hasattr(obj, "dtype")


def describe_bad_text(value: Any) -> str | None:
    """Return why ``value`` cannot be classified, or None when it is a usable ``str``."""
    if isinstance(value, str):
        return None
    if value is None:
        return "is None"
    if isinstance(value, float) and math.isnan(value):
        return "is NaN (missing value)"
    if isinstance(value, (bytes, bytearray)):
        return "is bytes; decode it first (e.g. value.decode('utf-8'))"
    return f"has type {type(value).__name__}, expected str"


def coerce_texts(texts: Any, *, argument: str = "texts") -> tuple[list[str], bool]:
    """Turn ``texts`` into a list of strings, raising :class:`InputError` on the first bad row.

    Returns:
        The list and whether the input was a single string.

    Example:
        >>> coerce_texts("Halo.")
        (['Halo.'], True)
        >>> coerce_texts(["a", "b"])
        (['a', 'b'], False)
    """
    if isinstance(texts, str):
        return [texts], True
    if isinstance(texts, (bytes, bytearray)):
        raise InputError(f"{argument} is bytes; decode it to str first")
    if texts is None:
        raise InputError(f"{argument} is None; expected a str or a sequence of str")
    if _is_pandas_series(texts):
        positions = [f"index {idx!r}" for idx in texts.index]
        values = list(texts.tolist())
    elif isinstance(texts, Iterable):
        values = list(texts)
        positions = [f"position {i}" for i in range(len(values))]
    else:
        raise InputError(f"{argument} has type {type(texts).__name__}; expected a str or an iterable of str")
    for where, value in zip(positions, values):
        problem = describe_bad_text(value)
        if problem is not None:
            raise InputError(f"{argument} at {where} {problem}")
    _warn_empty(values, argument)
    return values, False


def _warn_empty(values: list[str], argument: str) -> None:
    empty = [i for i, v in enumerate(values) if not v.strip()]
    if empty:
        shown = ", ".join(map(str, empty[:_MAX_REPORTED])) + (", ..." if len(empty) > _MAX_REPORTED else "")
        logger.warning(
            "%d empty or whitespace-only text(s) in %s (positions %s); they are classified as empty "
            "input and kept in the output",
            len(empty),
            argument,
            shown,
        )
