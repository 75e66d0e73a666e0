from __future__ import annotations

import numpy as np
import pytest

from kontak_nlp.inference.batching import length_sorted_batches, softmax


def test_batches_cover_every_index_once_longest_first() -> None:
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 100, 103)
    batches = list(length_sorted_batches(lengths, 10))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(103))
    assert [len(b) for b in batches] == [10] * 10 + [3]
    assert all(lengths[a] >= lengths[b] for a, b in zip(flat, flat[1:]))


def test_restoring_order_by_index_assignment() -> None:
    lengths = [5, 1, 9, 3, 9]
    out = np.empty(len(lengths), dtype=int)
    for batch in length_sorted_batches(lengths, 2):
        out[batch] = np.asarray(lengths)[batch] * 10
    assert out.tolist() == [50, 10, 90, 30, 90]


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        list(length_sorted_batches([1], 0))


def test_softmax_is_stable_and_tempered() -> None:
    logits = np.array([[1000.0, 0.0], [1.0, 1.0]])
    assert softmax(logits).tolist() == [[1.0, 0.0], [0.5, 0.5]]
    assert softmax(np.array([[2.0, 0.0]]), temperature=2.0)[0, 0] == pytest.approx(1 / (1 + np.exp(-1)))


def test_top2_margin_and_recheck_stats() -> None:
    from kontak_nlp.inference.recheck import RecheckStats, top2_margin

    logits = np.array([[2.0, 0.5, 1.0, -1.0], [0.0, 3.0, 3.0, 1.0], [-5.0, -1.0, -2.0, -9.0]], np.float32)
    np.testing.assert_allclose(top2_margin(logits), [1.0, 0.0, 1.0])
    assert np.isinf(top2_margin(np.zeros((2, 1), np.float32))).all()  # one label: nothing to recheck
    assert RecheckStats().share == 0.0 and RecheckStats(rows=8, rechecked=2).share == 0.25
