"""Validation of user texts: every row is checked, bad rows are named, none is dropped."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from typing import Any

from kontak_nlp.errors import InputError

logger = logging.getLogger(__name__)

_MAX_REPORTED = 5
_SURROGATE = re.compile("[\ud800-\udfff]")


def _is_pandas_series(obj: Any) -> bool:
    return type(obj).__name__ == "Series" and hasattr(obj, "index") and hasattr(obj, "dtype")


def find_surrogate(text: str) -> int | None:
    r"""The index of the first unpaired surrogate (U+D800-U+DFFF) in ``text``, or None.

    Such a ``str`` is not valid Unicode text: it cannot be encoded as UTF-8 or tokenized. Python
    makes one from ``json.loads('"\\ud800"')`` or from bytes decoded with ``surrogateescape``.

    Example:
        >>> find_surrogate("ok"), find_surrogate("ab\ud800c")
        (None, 2)
    """
    match = _SURROGATE.search(text)
    return None if match is None else match.start()


def describe_bad_text(value: Any) -> str | None:
    r"""Return why ``value`` cannot be classified, or None when it is a usable ``str``.

    Example:
        >>> describe_bad_text("Halo."), describe_bad_text(None), describe_bad_text("a\udc80")
        (None, 'is None', 'has an unpaired surrogate U+DC80 at character 1 (not valid Unicode text)')
    """
    if isinstance(value, str):
        at = find_surrogate(value)
        if at is None:
            return None
        return f"has an unpaired surrogate U+{ord(value[at]):04X} at character {at} (not valid Unicode text)"
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
    if isinstance(texts, (bytes, bytearray)):
        raise InputError(f"{argument} is bytes; decode it to str first")
    if texts is None:
        raise InputError(f"{argument} is None; expected a str or a sequence of str")
    if isinstance(texts, str):
        values, positions = [texts], ["position 0"]
    elif _is_pandas_series(texts):
        positions = [f"index {idx!r}" for idx in texts.index]
        values = list(texts.tolist())
    elif isinstance(texts, Iterable):
        values = list(texts)
        positions = [f"position {i}" for i in range(len(values))]
    else:
        raise InputError(f"{argument} has type {type(texts).__name__}; expected a str or an iterable of str")
    for position, (where, value) in enumerate(zip(positions, values)):
        problem = describe_bad_text(value)
        if problem is not None:
            raise InputError(f"{argument} at {where} {problem}", position=position)
    _warn_empty(values, argument)
    return values, isinstance(texts, str)


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
