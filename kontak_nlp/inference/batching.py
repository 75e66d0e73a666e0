"""Pure helpers for inference: length-sorted batch plans, padding and softmax."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


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


def pad_batch(batch_ids: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists to the longest one; returns ``(input_ids, attention_mask)`` as int64.

    Example:
        >>> ids, mask = pad_batch([[5, 6, 7], [5]], pad_id=1)
        >>> ids.tolist(), mask.tolist()
        ([[5, 6, 7], [5, 1, 1]], [[1, 1, 1], [1, 0, 0]])
    """
    width = max(len(ids) for ids in batch_ids)
    input_ids = np.full((len(batch_ids), width), pad_id, dtype=np.int64)
    attention = np.zeros((len(batch_ids), width), dtype=np.int64)
    for row, ids in enumerate(batch_ids):
        input_ids[row, : len(ids)] = ids
        attention[row, : len(ids)] = 1
    return input_ids, attention


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
