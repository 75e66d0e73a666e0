"""Per-slice metrics: by language, source style, the corpus' ``hard`` flag, sentence length, any column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Sentence-length buckets in words (upper bounds, inclusive); the last bucket is open-ended.
LENGTH_BUCKETS: tuple[tuple[str, int], ...] = (("<=10", 10), ("11-20", 20), ("21-30", 30))
LENGTH_SLICE = "length_words"


def length_bucket(text: str) -> str:
    """The length bucket of a sentence, counted in whitespace-separated words.

    Example:
        >>> length_bucket("Kedua menteri bertemu di Jakarta."), length_bucket(" ".join(["kata"] * 31))
        ('<=10', '>30')
    """
    words = len(text.split())
    for name, upper in LENGTH_BUCKETS:
        if words <= upper:
            return name
    return f">{LENGTH_BUCKETS[-1][1]}"


def slice_value(value: Any) -> str:
    """A slice key as a string (booleans as ``"true"``/``"false"``, missing values as ``"(missing)"``).

    Example:
        >>> slice_value(True), slice_value(None), slice_value("id")
        ('true', '(missing)', 'id')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(missing)"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return str(value)


def slice_metrics(
    gold: np.ndarray, pred: np.ndarray, columns: Mapping[str, Sequence[Any]], *, min_size: int = 1
) -> dict[str, dict[str, dict[str, Any]]]:
    """Accuracy, macro-F1 and weighted-F1 of every value of every slice column.

    Args:
        gold: Gold label ids.
        pred: Predicted label ids.
        columns: Slice column name to one value per row.
        min_size: Slices with fewer rows are left out.

    Returns:
        ``{column: {value: {"n", "accuracy", "macro_f1", "weighted_f1"}}}``, values sorted, with
        the length buckets in increasing order.

    Example:
        >>> out = slice_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), {"lang": ["id", "en", "en"]})
        >>> out["lang"]["en"]["accuracy"], out["lang"]["id"]["n"]
        (0.5, 1)
    """
    from sklearn.metrics import f1_score

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for column, raw in columns.items():
        keys = np.asarray([slice_value(v) for v in raw], dtype=object)
        table: dict[str, dict[str, Any]] = {}
        for key in _ordered_keys(column, keys):
            mask = keys == key
            if mask.sum() < min_size:
                continue
            g, p = gold[mask], pred[mask]
            table[key] = {
                "n": int(mask.sum()),
                "accuracy": float(np.mean(g == p)),
                "macro_f1": float(f1_score(g, p, average="macro", zero_division=0)),
                "weighted_f1": float(f1_score(g, p, average="weighted", zero_division=0)),
            }
        out[column] = table
    return out


def _ordered_keys(column: str, keys: np.ndarray) -> list[str]:
    present = set(keys.tolist())
    if column == LENGTH_SLICE:
        order = [name for name, _ in LENGTH_BUCKETS] + [f">{LENGTH_BUCKETS[-1][1]}"]
        return [k for k in order if k in present]
    return sorted(present)
