"""The prediction surface shared by every backend (torch :class:`Classifier`, ONNX Runtime).

A backend provides ``config`` (with ``id2label``), ``tokenizer``, ``max_length`` and
``_forward(input_ids, attention_mask) -> logits``; this base class does the rest: tokenizing once,
length-sorted dynamic padding, order restoration, calibration and :class:`Prediction` objects.
A backend may tokenize with something lighter than its public ``tokenizer`` and read its labels from
something lighter than its public ``config`` (``_text_tokenizer``, ``_runtime_config``).

An approximate backend (dynamic int8) can carry an exact one as ``recheck_with``: rows whose top-two
logit margin is below ``recheck_margin`` are computed again by it (see :class:`RecheckStats`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from kontak_nlp.errors import InputError
from kontak_nlp.inference.batching import length_sorted_batches, pad_batch, softmax
from kontak_nlp.inference.options import RuntimeOptions
from kontak_nlp.inference.recheck import RecheckStats, top2_margin
from kontak_nlp.inference.texts import coerce_texts, describe_bad_text
from kontak_nlp.schema import Prediction

logger = logging.getLogger(__name__)


def _rejected_text(
    tokenizer: Any, texts: list[str], contexts: list[str] | None, max_length: int, err: BaseException
) -> InputError:
    """The :class:`InputError` naming the first text ``tokenizer`` rejects (it failed on the batch)."""
    from kontak_nlp.inference.context import encode

    for position, text in enumerate(texts):
        try:
            encode(tokenizer, [text], None if contexts is None else [contexts[position]], max_length)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as one:  # any failure is this text's
            reason = f"{type(one).__name__}: {one}"
            message = f"texts at position {position}: the tokenizer rejects this text ({reason})"
            return InputError(message, position=position)
    return InputError(f"the tokenizer rejects this batch of {len(texts)} texts ({type(err).__name__}: {err})")


def _hide_bar(show_progress_bar: bool | None) -> bool:
    if show_progress_bar is None:
        return logging.getLogger("kontak_nlp").getEffectiveLevel() > logging.INFO
    return not show_progress_bar


class PredictorBase:
    """Labels, probabilities and predictions on top of a backend's ``_forward``."""

    tokenizer: Any
    max_length: int
    recheck_with: PredictorBase | None = None
    recheck_margin: float = 0.0
    recheck_stats: RecheckStats | None = None
    batch_size: int = RuntimeOptions.batch_size
    precision: str = RuntimeOptions.precision

    @property
    def config(self) -> Any:  # pragma: no cover - every backend overrides it
        raise NotImplementedError

    @property
    def _runtime_config(self) -> Any:
        """What labels, temperature and context mode are read from (``config`` unless cheaper)."""
        return self.config

    @property
    def _text_tokenizer(self) -> Any:
        """What texts are tokenized with (``tokenizer`` unless a backend has a lighter equivalent)."""
        return self.tokenizer

    @property
    def labels(self) -> list[str]:
        """Label names in column order of :meth:`predict_proba` (read from ``config.id2label``)."""
        from kontak_nlp.inference.model_io import ordered_labels

        return ordered_labels(self._runtime_config)

    @property
    def classes_(self) -> np.ndarray:
        """scikit-learn style alias of :attr:`labels`."""
        return np.asarray(self.labels, dtype=object)

    @property
    def temperature(self) -> float:
        """The calibration temperature stored in the model config (1.0 when none is stored)."""
        return float(getattr(self._runtime_config, "calibration_temperature", None) or 1.0)

    @property
    def uses_context(self) -> bool:
        """Whether the model was trained with article context (headline and previous sentence)."""
        from kontak_nlp.inference.context import CONFIG_KEY

        return getattr(self._runtime_config, CONFIG_KEY, "none") == "article"

    def predict_logits(
        self,
        texts: Iterable[str] | str,
        *,
        context: Sequence[str | None] | None = None,
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
    ) -> np.ndarray:
        """Raw logits, shape ``(n, n_labels)``, rows in input order.

        ``context`` gives each text's article context (see :mod:`kontak_nlp.inference.context`); it is used by
        models trained with context and ignored by the others. ``batch_size`` None is the model's
        ``batch_size`` option (32 by default).

        Example:
            >>> clf.predict_logits(["Halo."]).shape  # doctest: +SKIP
            (1, 4)
        """
        values, _ = coerce_texts(texts)
        return self._logits(values, context, batch_size, show_progress_bar)

    def _logits(
        self,
        values: list[str],
        context: Sequence[str | None] | None,
        batch_size: int | None,
        show_progress_bar: bool | None,
    ) -> np.ndarray:
        """Logits of already validated texts (each public method validates its input once)."""
        size = batch_size or self.batch_size
        out = np.zeros((len(values), len(self.labels)), dtype=np.float32)
        if not values:
            return out
        encoded = self._preprocess(values, _contexts(context, len(values)))
        every_row = np.arange(len(encoded))
        self._fill_logits(self, encoded, every_row, out, size, _hide_bar(show_progress_bar))
        if self.rechecks_near_ties:
            self._recheck(encoded, out, size)
        return out

    @property
    def rechecks_near_ties(self) -> bool:
        """Whether near-tie rows are recomputed by ``recheck_with`` (an int8 model's fp32 twin)."""
        return self.recheck_with is not None and self.recheck_margin > 0

    def _recheck(self, encoded: list[list[int]], out: np.ndarray, batch_size: int) -> None:
        """Recompute, with ``recheck_with``, the rows of ``out`` whose top-two margin is small."""
        assert self.recheck_with is not None
        rows = np.flatnonzero(top2_margin(out) < self.recheck_margin)
        stats = self.recheck_stats = self.recheck_stats or RecheckStats()
        stats.rows += len(out)
        stats.rechecked += len(rows)
        self._fill_logits(self.recheck_with, encoded, rows, out, batch_size, hide_bar=True)

    def _fill_logits(
        self,
        backend: PredictorBase,
        encoded: list[list[int]],
        rows: np.ndarray,
        out: np.ndarray,
        batch_size: int,
        hide_bar: bool,
    ) -> None:
        """``out[rows] = backend``'s logits of ``encoded[rows]``, in length-sorted padded batches."""
        pad_id = self._text_tokenizer.pad_token_id or 0
        batches = list(length_sorted_batches([len(encoded[i]) for i in rows], batch_size))
        for indices in tqdm(batches, desc="Classifying", unit="batch", disable=hide_bar):
            chosen = rows[indices]
            out[chosen] = backend._forward(*pad_batch([encoded[i] for i in chosen], pad_id))

    def predict_proba(
        self,
        texts: Iterable[str] | str,
        *,
        context: Sequence[str | None] | None = None,
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
        calibrated: bool = True,
    ) -> np.ndarray:
        """Probabilities, shape ``(n, n_labels)``, columns in :attr:`labels` order.

        Args:
            calibrated: Divide logits by the stored temperature before the softmax.

        Example:
            >>> clf.predict_proba(["Halo.", "Apa kabar?"]).sum(axis=1)  # doctest: +SKIP
            array([1., 1.], dtype=float32)
        """
        values, _ = coerce_texts(texts)
        return self._proba(values, context, batch_size, show_progress_bar, calibrated)

    def _proba(
        self,
        values: list[str],
        context: Sequence[str | None] | None,
        batch_size: int | None,
        show_progress_bar: bool | None,
        calibrated: bool = True,
    ) -> np.ndarray:
        logits = self._logits(values, context, batch_size, show_progress_bar)
        return softmax(logits, self.temperature if calibrated else 1.0)

    def predict(
        self,
        texts: Iterable[str] | str,
        *,
        context: Sequence[str | None] | None = None,
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
    ) -> list[str]:
        """The most probable label of each text, in input order.

        Example:
            >>> clf.predict("Menlu RI bertemu Menlu Jepang.")  # doctest: +SKIP
            ['meeting_report']
        """
        values, _ = coerce_texts(texts)
        proba = self._proba(values, context, batch_size, show_progress_bar)
        labels = self.labels
        return [labels[i] for i in proba.argmax(axis=1)]

    def classify(
        self,
        texts: Iterable[str] | str,
        *,
        top_k: int | None = None,
        context: Sequence[str | None] | None = None,
        batch_size: int | None = None,
        show_progress_bar: bool | None = None,
    ) -> list[Prediction]:
        """One :class:`Prediction` per text (always a list), in input order.

        Args:
            top_k: Keep only the ``top_k`` best labels in ``Prediction.scores`` (None keeps all).

        Example:
            >>> clf.classify(["Kedua menteri bertemu di Jakarta."])[0].label  # doctest: +SKIP
            'meeting_report'
        """
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
        values, _ = coerce_texts(texts)
        proba = self._proba(values, context, batch_size, show_progress_bar)
        return self._postprocess(values, proba, top_k)

    def _preprocess(self, texts: list[str], contexts: list[str] | None = None) -> list[list[int]]:
        """Tokenize without padding (with contexts if the model uses them); warn when texts are cut."""
        from kontak_nlp.inference.context import encode

        contexts = contexts if self.uses_context else None
        tokenizer = self._text_tokenizer
        try:
            encoded = encode(tokenizer, texts, contexts, self.max_length)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:  # TypeError, ValueError, a pyo3 PanicException (a BaseException)
            raise _rejected_text(tokenizer, texts, contexts, self.max_length, err) from err
        bare = contexts or [""] * len(encoded)
        cut = sum(1 for ids, c in zip(encoded, bare) if not c and len(ids) >= self.max_length)
        if cut:
            logger.warning(
                "%d text(s) reached the model limit of %d tokens and were truncated", cut, self.max_length
            )
        return encoded

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def _postprocess(self, texts: list[str], proba: np.ndarray, top_k: int | None) -> list[Prediction]:
        """Build sorted :class:`Prediction` objects from a probability matrix."""
        labels = self.labels
        keep = len(labels) if top_k is None else min(top_k, len(labels))
        order = np.argsort(-proba, axis=1, kind="stable")[:, :keep]
        predictions = []
        for text, row, ranked in zip(texts, proba, order):
            scores = {labels[j]: float(row[j]) for j in ranked}
            predictions.append(Prediction(text, labels[ranked[0]], float(row[ranked[0]]), scores))
        return predictions


def _contexts(context: Sequence[str | None] | None, n: int) -> list[str] | None:
    """Validated contexts: one string (or None, meaning none) per text."""
    if context is None:
        return None
    if isinstance(context, str):
        raise InputError("context: pass one context per text (a list), not a single string")
    values = list(context)
    if len(values) != n:
        raise InputError(f"context: got {len(values)} contexts for {n} texts")
    for i, value in enumerate(values):
        if value is not None and not isinstance(value, str):
            raise InputError(f"context[{i}]: expected a string or None, got {type(value).__name__}")
        problem = describe_bad_text(value) if value is not None else None
        if problem:
            raise InputError(f"context[{i}] {problem}", position=i)
    return [value or "" for value in values]
