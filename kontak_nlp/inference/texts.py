"""Validation of user texts: every row is checked, bad rows are named, none is dropped."""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
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


def _not_texts(texts: Any, argument: str) -> str | None:
    """Why ``texts`` is a container whose iteration would not give its texts (None when it is fine).

    A DataFrame iterates over its column names, a dict over its keys, a ``datasets.Dataset`` over row
    dicts and a path over nothing useful: each would be classified silently wrong.
    """
    kind = type(texts).__name__
    if kind == "DataFrame" and hasattr(texts, "columns"):
        columns = list(texts.columns)[:5]
        return (
            f"{argument} is a DataFrame (iterating it gives the column names {columns}); pass the text "
            "column, e.g. classify(df['text'])"
        )
    if kind in ("Dataset", "IterableDataset") and hasattr(texts, "column_names"):
        return f"{argument} is a datasets.Dataset; pass its text column, e.g. classify(ds['text'])"
    if isinstance(texts, Mapping):
        return (
            f"{argument} is a {kind} (iterating it gives its keys); pass the texts themselves, "
            "e.g. classify(list(d.values()))"
        )
    if isinstance(texts, os.PathLike):
        return (
            f"{argument} is a path ({os.fspath(texts)!r}), not text; read the file first, e.g. "
            "classify(Path(p).read_text().splitlines()), use classify_article(Path(p)) for an article, "
            "or `kontak-nlp classify FILE` for a file of sentences"
        )
    return None


def existing_file(text: str) -> Path | None:
    """The file ``text`` names, when it is a short one-line string naming an existing file.

    Example:
        >>> existing_file("Menlu RI bertemu Menlu Jepang.") is None
        True
    """
    if len(text) > 1024 or "\n" in text or not text.strip():
        return None
    try:
        path = Path(text).expanduser()
        return path if path.is_file() else None
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte...
        return None


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
    if isinstance(texts, str) and existing_file(texts) is not None:
        raise InputError(
            f"{argument} {texts!r} is the name of an existing file, not a sentence; read it first, "
            f"e.g. classify(Path({texts!r}).read_text().splitlines()), or pass "
            "classify_article(Path(...)) an article file"
        )
    problem = None if isinstance(texts, str) else _not_texts(texts, argument)
    if problem is not None:
        raise InputError(problem)
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


def article_text(article: Any) -> str:
    """The text of one article given as a ``str`` or read from a path (``pathlib.Path``, UTF-8).

    A ``str`` that names an existing file is refused: it is almost surely a file name passed by
    mistake, and classifying the name would give a silently wrong result.

    Example:
        >>> article_text("JAKARTA - Menlu RI bertemu Menlu Jepang.")[:7]
        'JAKARTA'
    """
    if isinstance(article, os.PathLike):
        path = Path(article)
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise InputError(f"{path}: not UTF-8 text ({err}); convert it to UTF-8 first") from err
        except OSError as err:
            raise InputError(f"{path}: cannot read the article file ({err.strerror or err})") from err
    if not isinstance(article, str):
        raise InputError(
            f"text has type {type(article).__name__}; classify_article expects one str or a pathlib.Path"
        )
    if existing_file(article) is not None:
        raise InputError(
            f"text {article!r} is the name of an existing file, not article text; pass "
            f"classify_article(Path({article!r})) to read it"
        )
    return article
