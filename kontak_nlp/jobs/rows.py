"""Turn a chunk of input records into output rows: classify the good ones, apply ``--on-error``.

Sentence mode writes one row per input row::

    {"id": ..., "row": 17, "label": "demand", "score": 0.912345}

(``id`` only when the input has an id column; ``text``, ``score_<label>`` and ``error`` columns
with ``--with-text``, ``--all-scores`` and ``--on-error mark``). Article mode writes one row per
unit of each article, in document order, with character offsets into the article text::

    {"article_id": "a1.txt", "sentence_index": 0, "start": 0, "end": 42, "paragraph": 0,
     "boilerplate": false, "reason": null, "label": "meeting_report", "score": 0.87}

Boilerplate units (site furniture the segmenter set aside) are listed in the same file with
``"boilerplate": true``, the rule that matched in ``reason`` and no label or score.

A bad row (unreadable, no text, a lone surrogate in its text or id, a text the tokenizer rejects)
follows ``--on-error``; with ``mark`` an id that cannot be written as UTF-8 is written as null.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kontak_nlp.errors import InputError
from kontak_nlp.inference.context import article_contexts
from kontak_nlp.jobs._formats import Record, has_lone_surrogate, text_problem
from kontak_nlp.jobs.writers import Column
from kontak_nlp.text.segment import Segmentation

ProbaFn = Callable[[list[str], "list[str] | None"], np.ndarray]
_POSITION = re.compile(r"^texts at position \d+:? ")
_DIGITS = 6


@dataclass(frozen=True)
class RowOptions:
    """What the rows contain."""

    labels: tuple[str, ...]
    on_error: str = "raise"
    articles: bool = False
    has_ids: bool = False
    id_kind: str = "int"
    with_text: bool = False
    all_scores: bool = False

    def columns(self) -> list[Column]:
        """The output columns, in order (the same for every chunk, so CSV/Parquet have one schema).

        Example:
            >>> [c.name for c in RowOptions(labels=("a", "b")).columns()]
            ['row', 'label', 'score']
        """
        if self.articles:
            cols = [Column("article_id", self.id_kind if self.has_ids else "int")]
            cols += [Column(n, "int") for n in ("sentence_index", "start", "end", "paragraph")]
            cols += [Column("boilerplate", "bool"), Column("reason", "str")]
        else:
            cols = ([Column("id", self.id_kind)] if self.has_ids else []) + [Column("row", "int")]
        cols += [Column("text", "str")] if self.with_text else []
        cols += [Column("label", "str"), Column("score", "float")]
        cols += [Column(f"score_{label}", "float") for label in self.labels] if self.all_scores else []
        cols += [Column("error", "str")] if self.on_error == "mark" else []
        return cols


@dataclass
class ChunkResult:
    """Rows of one chunk and what they count for (input rows are articles in article mode)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0
    written: int = 0
    errored: int = 0
    boilerplate: int = 0


def proba_fn_of(model: Any, batch_size: int | None = None) -> ProbaFn:
    """The :data:`ProbaFn` of a model: its ``predict_proba``, given article contexts only when the
    model was trained with them (``uses_context``), so duck-typed models need no ``context``.

    Example:
        >>> class Fake:
        ...     def predict_proba(self, texts, **kwargs):
        ...         return np.ones((len(texts), 2)) / 2
        >>> proba_fn_of(Fake())(["a", "b"], ["", "a"]).shape
        (2, 2)
    """
    kwargs: dict[str, Any] = {"show_progress_bar": False}
    if batch_size is not None:
        kwargs["batch_size"] = batch_size

    def proba(texts: list[str], contexts: list[str] | None) -> np.ndarray:
        if contexts is not None and getattr(model, "uses_context", False):
            return model.predict_proba(texts, context=contexts, **kwargs)
        return model.predict_proba(texts, **kwargs)

    return proba


def _bad(record: Record, problem: str, options: RowOptions) -> None:
    if options.on_error == "raise":
        raise InputError(
            f"input row {record.row} ({record.where}): {problem}; "
            "use --on-error skip or --on-error mark to continue past bad rows"
        )


def _safe_text(value: Any) -> str | None:
    return value if isinstance(value, str) and not has_lone_surrogate(value) else None


def _safe_id(value: Any) -> Any:
    return None if has_lone_surrogate(value) else value


def _classify(
    texts: list[str], proba_fn: ProbaFn, contexts: list[str] | None = None
) -> tuple[list[np.ndarray | None], dict[int, str]]:
    """Probabilities of ``texts`` (None for a rejected text) and ``{index: problem}`` of the texts
    the tokenizer rejects; the others are classified again without them. ``contexts`` (one per text,
    article mode) go to models trained with article context."""
    rejected: dict[int, str] = {}
    while True:
        keep = [i for i in range(len(texts)) if i not in rejected]
        kept_contexts = None if contexts is None else [contexts[i] for i in keep]
        try:
            proba = proba_fn([texts[i] for i in keep], kept_contexts) if keep else []
        except InputError as err:
            if err.position is None:
                raise
            rejected[keep[err.position]] = _POSITION.sub("", str(err))
            continue
        rows: list[np.ndarray | None] = [None] * len(texts)
        for i, row in zip(keep, proba):
            rows[i] = row
        return rows, rejected


def _prediction(proba_row: np.ndarray, options: RowOptions) -> dict[str, Any]:
    best = int(proba_row.argmax())
    out: dict[str, Any] = {"label": options.labels[best], "score": round(float(proba_row[best]), _DIGITS)}
    if options.all_scores:
        out.update({f"score_{n}": round(float(p), _DIGITS) for n, p in zip(options.labels, proba_row)})
    return out


def _empty_prediction(options: RowOptions) -> dict[str, Any]:
    out: dict[str, Any] = {"label": None, "score": None}
    if options.all_scores:
        out.update({f"score_{n}": None for n in options.labels})
    return out


def sentence_rows(records: Sequence[Record], proba_fn: ProbaFn, options: RowOptions) -> ChunkResult:
    """Classify a chunk of sentence records; bad rows follow ``options.on_error``.

    Example:
        >>> fake = lambda texts, contexts: np.tile([[0.2, 0.8]], (len(texts), 1))
        >>> sentence_rows([Record(0, "Halo.")], fake, RowOptions(labels=("a", "b"))).rows
        [{'row': 0, 'label': 'b', 'score': 0.8}]
    """
    problems = [text_problem(record) for record in records]
    for record, problem in zip(records, problems):
        if problem:
            _bad(record, problem, options)
    good = [i for i, problem in enumerate(problems) if not problem]
    proba, rejected = _classify([records[i].text for i in good], proba_fn)
    for at, problem in rejected.items():
        _bad(records[good[at]], problem, options)
        problems[good[at]] = problem
    proba_of = dict(zip(good, proba))
    result = ChunkResult(read=len(records))
    for i, (record, problem) in enumerate(zip(records, problems)):
        if problem:
            result.errored += 1
            if options.on_error == "skip":
                continue
        row: dict[str, Any] = dict(record.extra or {})
        if options.has_ids:
            row["id"] = _safe_id(record.id)
        row["row"] = record.row
        if options.with_text:
            row["text"] = _safe_text(record.text)
        row.update(_empty_prediction(options) if problem else _prediction(proba_of[i], options))
        if options.on_error == "mark":
            row["error"] = problem
        result.rows.append(row)
        result.written += 1
    return result


def _unit_row(article_id: Any, unit: Any, record: Record, options: RowOptions) -> dict[str, Any]:
    row: dict[str, Any] = dict(record.extra or {})
    row.update(article_id=article_id, sentence_index=unit.index, start=unit.start)
    row.update(end=unit.end, paragraph=unit.paragraph, boilerplate=unit.boilerplate, reason=unit.reason)
    if options.with_text:
        row["text"] = unit.text
    return row


def _error_row(article_id: Any, record: Record, problem: str, options: RowOptions) -> dict[str, Any]:
    row: dict[str, Any] = dict(record.extra or {})
    row.update(article_id=article_id, sentence_index=None, start=None, end=None)
    row.update(paragraph=None, boilerplate=None, reason=None)
    if options.with_text:
        row["text"] = _safe_text(record.text)
    row.update(_empty_prediction(options), error=problem)
    return row


ArticleItem = tuple[Record, Segmentation | None, str | None]


def _unit_contexts(units: list[tuple[int, Any]]) -> list[str]:
    """Each unit's article context (headline and previous sentence of its own article), in order."""
    by_article: dict[int, list[str]] = {}
    for k, unit in units:
        by_article.setdefault(k, []).append(unit.text)
    contexts = {k: iter(article_contexts(texts)) for k, texts in by_article.items()}
    return [next(contexts[k]) for k, _ in units]


def segment_record(record: Record) -> tuple[ArticleItem, int]:
    """``(record, segmentation, problem)`` of an article record, and how many units it counts for.

    Example:
        >>> item, units = segment_record(Record(0, "Menlu tiba. Share:"))
        >>> units, item[2]
        (2, None)
    """
    from kontak_nlp.text.segment import segment

    problem = text_problem(record)
    if problem:
        return (record, None, problem), 1
    seg = segment(record.text)
    return (record, seg, None), max(1, len(seg.units))


def article_rows(items: Sequence[ArticleItem], proba_fn: ProbaFn, options: RowOptions) -> ChunkResult:
    """Classify the sentences of a chunk of segmented articles, in one length-sorted pass.

    ``items`` holds :func:`segment_record` results; bad articles have no segmentation.

    Example:
        >>> from kontak_nlp.text.segment import segment
        >>> fake = lambda texts, contexts: np.tile([[0.2, 0.8]], (len(texts), 1))
        >>> item = (Record(0, "Menlu tiba. Share:"), segment("Menlu tiba. Share:"), None)
        >>> rows = article_rows([item], fake, RowOptions(("a", "b"), articles=True)).rows
        >>> [(r["start"], r["end"], r["label"]) for r in rows]
        [(0, 11, 'b'), (12, 18, None)]
    """
    for record, _, problem in items:
        if problem:
            _bad(record, problem, options)
    units = [(k, u) for k, (_, seg, _) in enumerate(items) if seg is not None for u in seg.units]
    units = [(k, u) for k, u in units if not u.boilerplate]
    proba, rejected = _classify([u.text for _, u in units], proba_fn, _unit_contexts(units))
    items = list(items)
    for at, problem in sorted(rejected.items()):
        k, unit = units[at]
        if items[k][1] is not None:  # the first rejected sentence of an article makes it bad
            problem = f"sentence {unit.index} (characters {unit.start}-{unit.end}): {problem}"
            _bad(items[k][0], problem, options)
            items[k] = (items[k][0], None, problem)
    proba_of = {id(u): row for (_, u), row in zip(units, proba)}
    result = ChunkResult(read=len(items))
    for record, seg, problem in items:
        article_id = _safe_id(record.id) if options.has_ids else record.row
        if seg is None:
            result.errored += 1
            if options.on_error == "mark":
                result.rows.append(_error_row(article_id, record, problem or "", options))
                result.written += 1
            continue
        result.written += 1
        for unit in seg.units:
            row = _unit_row(article_id, unit, record, options)
            scores = None if unit.boilerplate else proba_of[id(unit)]
            row.update(_empty_prediction(options) if scores is None else _prediction(scores, options))
            if options.on_error == "mark":
                row["error"] = None
            result.boilerplate += unit.boilerplate
            result.rows.append(row)
    return result
