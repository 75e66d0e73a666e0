"""Rechecking approximate (int8) predictions: which rows, and how many were recomputed.

Dynamic int8 moves logits by up to ~2.6 (measured on the default model; ``docs/int8.md``), so a label
can only change where the top two logits are close. Backends that carry an exact twin recompute
exactly those rows; everything here is numpy-only so the CLI can read the default without torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_RECHECK_MARGIN = 3.0
"""Logit margin below which an int8 label is recomputed in fp32 (see ``docs/int8.md``)."""


@dataclass
class RecheckStats:
    """How many rows an approximate backend scored, and how many of them were recomputed exactly.

    Example:
        >>> RecheckStats(rows=200, rechecked=3).share
        0.015
    """

    rows: int = 0
    rechecked: int = 0

    @property
    def share(self) -> float:
        """Fraction of rows recomputed (0.0 before any row was scored)."""
        return self.rechecked / self.rows if self.rows else 0.0


def top2_margin(logits: np.ndarray) -> np.ndarray:
    """Difference between the largest and second-largest logit of each row (inf with one column).

    Example:
        >>> top2_margin(np.array([[2.0, 0.5, 1.0]])).tolist()
        [1.0]
    """
    if logits.shape[1] < 2:
        return np.full(len(logits), np.inf, dtype=np.float32)
    top = np.partition(logits, -2, axis=1)
    return top[:, -1] - top[:, -2]
