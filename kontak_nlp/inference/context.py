"""Article context for sentence classification: the headline and the previous sentence.

A sentence is often ambiguous alone ("Keduanya juga menyinggung soal tarif.") and clear in its
article. A model trained with ``TrainConfig(context="article")`` reads each sentence as the first
segment and ``headline | previous sentence`` as a second segment. Training drops the context at
random (``context_dropout``) so that the same model still works on bare sentences: rows without a
context are encoded exactly as a model without context would encode them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

#: Context modes a model can be trained with.
CONTEXT_MODES: tuple[str, ...] = ("none", "article")
#: Separator between the headline and the previous sentence inside the context segment.
SEPARATOR = " | "
#: Name of the model-config attribute that records the context mode.
CONFIG_KEY = "kontak_context"
#: Words kept of the headline and of the previous sentence (long contexts cost time, add little).
HEADLINE_WORDS = 20
PREVIOUS_WORDS = 30
_MIN_CONTEXT_TOKENS = 16


def article_contexts(sentences: Sequence[str]) -> list[str]:
    """The context of every sentence of one article (index 0 is the headline, which gets none).

    Example:
        >>> article_contexts(["RI dan Jepang bahas nikel", "Menlu bertemu.", "Keduanya sepakat."])
        ['', 'RI dan Jepang bahas nikel', 'RI dan Jepang bahas nikel | Menlu bertemu.']
    """
    headline = _clip(sentences[0], HEADLINE_WORDS) if sentences else ""
    out = []
    for i in range(len(sentences)):
        if i == 0:
            out.append("")
        elif i == 1:
            out.append(headline)
        else:
            out.append(headline + SEPARATOR + _clip(sentences[i - 1], PREVIOUS_WORDS))
    return out


def _clip(text: str, words: int) -> str:
    """The first ``words`` words of ``text``."""
    parts = text.split()
    return text if len(parts) <= words else " ".join(parts[:words])


def contexts_by_group(texts: Sequence[str], groups: Sequence[Any], order: Sequence[Any]) -> list[str]:
    """Contexts for rows of many articles: ``groups`` names each row's article, ``order`` its position.

    Rows are put in ``order`` within their article (the lowest is the headline); the result follows
    the input row order.

    Example:
        >>> contexts_by_group(["b", "H", "a"], ["x", "x", "x"], [2, 0, 1])
        ['H | a', '', 'H']
    """
    rows_of: dict[Any, list[int]] = defaultdict(list)
    for row, group in enumerate(groups):
        rows_of[group].append(row)
    out = [""] * len(texts)
    for rows in rows_of.values():
        rows.sort(key=lambda r: order[r])
        for row, context in zip(rows, article_contexts([texts[r] for r in rows])):
            out[row] = context
    return out


def drop_contexts(contexts: Sequence[str], rate: float, seed: int) -> list[str]:
    """Blank each context with probability ``rate`` (seeded), so the model also learns bare sentences.

    Example:
        >>> drop_contexts(["a", "b", "c"], 0.0, 0), drop_contexts(["a", "b"], 1.0, 0)
        (['a', 'b', 'c'], ['', ''])
    """
    rng = random.Random(seed)
    return [c if rng.random() >= rate else "" for c in contexts]


def encode(
    tokenizer: Any, texts: Sequence[str], contexts: Sequence[str] | None, max_length: int
) -> list[list[int]]:
    """Token ids of each sentence, with its context as a second segment where it has one.

    Rows without a context are encoded as single segments (identical to a context-free model's
    input); the context is truncated first when the pair is too long.

    Example:
        >>> ids = encode(tokenizer, ["Menlu bertemu."], ["Judul"], 64)  # doctest: +SKIP
    """
    texts = list(texts)
    out = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    if contexts is None:
        return out
    if len(contexts) != len(texts):
        raise ValueError(f"context: got {len(contexts)} contexts for {len(texts)} texts")
    # A sentence that fills (almost) the whole window keeps no context: there is no room for one.
    paired = [i for i, c in enumerate(contexts) if c and len(out[i]) <= max_length - _MIN_CONTEXT_TOKENS]
    if paired:
        ids = tokenizer(
            [texts[i] for i in paired],
            [contexts[i] for i in paired],
            truncation="only_second",
            max_length=max_length,
        )["input_ids"]
        for i, row in zip(paired, ids):
            out[i] = row
    return out
