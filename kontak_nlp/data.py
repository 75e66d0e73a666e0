"""Labeled data in, ``datasets.Dataset`` out: files, frames, lists, and the project's own corpus.

Every loader validates rows and names the offending one; nothing is dropped silently.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kontak_nlp.errors import DataError
from kontak_nlp.formats import format_of, suffixes
from kontak_nlp.schema import DEFAULT_LABELS

logger = logging.getLogger(__name__)

_LOADERS = {"json": "json", "jsonl": "json", "csv": "csv", "tsv": "csv", "parquet": "parquet"}  # datasets'
SPLITS = ("train", "dev", "test")


#: The corpus shipped inside the package (gzip), written by ``training/build_corpus.py``.
PACKAGED_CORPUS = Path(__file__).parent / "resources" / "corpus.jsonl.gz"


def corpus_path() -> Path:
    """Where the corpus is read from: ``$KONTAK_CORPUS`` if set (e.g. ``training/data/corpus.jsonl``
    of a checkout while you edit the corpus), else the gzip copy shipped in the package.

    ``training/build_corpus.py`` writes both files from the same articles, so they hold the same rows.

    Example:
        >>> corpus_path().name in ("corpus.jsonl", "corpus.jsonl.gz")
        True
    """
    env = os.environ.get("KONTAK_CORPUS")
    if env:
        if not Path(env).exists():
            raise DataError(f"{env}: corpus file not found (set by KONTAK_CORPUS)")
        return Path(env)
    if PACKAGED_CORPUS.exists():
        return PACKAGED_CORPUS
    raise DataError(f"{PACKAGED_CORPUS}: corpus file not found; reinstall kontak-nlp or set KONTAK_CORPUS")


def read_table(source: Any) -> Any:
    """Read a file, directory of files, DataFrame, list of dicts or Dataset into a ``datasets.Dataset``.

    Example:
        >>> ds = read_table([{"text": "Halo.", "label": "background"}])
        >>> ds.num_rows
        1
    """
    import datasets

    if isinstance(source, datasets.Dataset):
        return source
    if isinstance(source, datasets.DatasetDict):
        raise DataError("got a DatasetDict; pass one split, e.g. data['train']")
    if type(source).__name__ == "DataFrame":
        return datasets.Dataset.from_pandas(source, preserve_index=False)
    if isinstance(source, (list, tuple)):
        return datasets.Dataset.from_list(list(source))
    return _read_files(Path(source))


def _read_files(path: Path) -> Any:
    import datasets

    files = sorted(p for p in path.iterdir() if format_of(p) in _LOADERS) if path.is_dir() else [path]
    if not files or not all(f.exists() for f in files):
        raise DataError(f"{path}: no such data file (or no .jsonl/.csv/.parquet files in the directory)")
    kinds = {_LOADERS.get(format_of(f) or "") for f in files}
    if None in kinds or len(kinds) != 1:
        raise DataError(f"{path}: expected files of one format among {sorted(suffixes(*_LOADERS))}")
    kind = kinds.pop()
    kwargs = {"delimiter": "\t"} if format_of(files[0]) == "tsv" else {}
    try:
        return datasets.load_dataset(kind, data_files=[str(f) for f in files], split="train", **kwargs)
    except Exception as err:  # datasets wraps parser errors in several types
        raise DataError(f"{path}: cannot read as {kind} ({err})") from err


def check_columns(ds: Any, *columns: str, where: str = "data") -> None:
    """Raise :class:`DataError` naming any missing column and the columns that exist."""
    missing = [c for c in columns if c not in ds.column_names]
    if missing:
        raise DataError(f"{where}: column(s) {missing} not found; available columns: {ds.column_names}")


def check_texts(ds: Any, text_column: str, *, where: str = "data") -> None:
    """Every text must be a non-empty string; the error names the first bad row."""
    for row, value in enumerate(ds[text_column]):
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{where}: row {row} has an empty or non-text {text_column!r} ({value!r})")


def resolve_labels(
    values: Sequence[Any], labels: Sequence[str] | str | None, *, where: str = "data"
) -> list[str]:
    """The ordered label set: given explicitly, or ``"auto"``/None to take it from the data.

    With ``auto`` the default news labels keep their canonical order when the data uses exactly
    them; any other set is sorted alphabetically so the order is reproducible.

    Example:
        >>> resolve_labels(["b", "a", "b"], "auto")
        ['a', 'b']
    """
    for row, value in enumerate(values):
        if not isinstance(value, str) or not value:
            raise DataError(f"{where}: row {row} has a missing or non-string label ({value!r})")
    present = set(values)
    if labels is None or labels == "auto":
        ordered = list(DEFAULT_LABELS) if present == set(DEFAULT_LABELS) else sorted(present)
    else:
        ordered = list(labels.split(",")) if isinstance(labels, str) else list(labels)
        unknown = sorted(present - set(ordered))
        if unknown:
            first = next(i for i, v in enumerate(values) if v in unknown)
            raise DataError(
                f"{where}: label(s) {unknown} are not in the label set {ordered} (first at row {first})"
            )
    if len(set(ordered)) != len(ordered):
        raise DataError(f"{where}: duplicate labels in {ordered}")
    if len(ordered) < 2:
        raise DataError(f"{where}: only one class present ({ordered}); need at least two labels")
    if len(ordered) > 50:
        raise DataError(f"{where}: need between 2 and 50 labels, got {len(ordered)}")
    return ordered


def check_label_counts(
    values: Sequence[str], labels: Sequence[str], *, minimum: int = 2, where: str = "data"
) -> None:
    """Training needs at least two classes present and ``minimum`` examples of every label present."""
    counts = Counter(values)
    if len(counts) < 2:
        raise DataError(f"{where}: only one class present ({sorted(counts)}); need at least two")
    rare = {label: n for label, n in counts.items() if n < minimum}
    if rare:
        raise DataError(f"{where}: label(s) with fewer than {minimum} examples: {rare}")
    absent = [label for label in labels if label not in counts]
    if absent:
        logger.warning("%s: label(s) %s have no examples; the model cannot learn them", where, absent)


def load_corpus(split: str | None = None, *, include_boilerplate: bool = False) -> Any:
    """The project's annotated corpus as sentences: a ``Dataset`` for one split, else a ``DatasetDict``.

    Columns: ``text, label, article_id, sent_idx, start, end, lang, source_style, topic, hard,
    hard_type, split`` (plus ``boilerplate`` rows with ``label=None`` if requested).

    Example:
        >>> from kontak_nlp.data import load_corpus
        >>> load_corpus("dev").column_names[:2]  # doctest: +SKIP
        ['text', 'label']
    """
    import datasets

    rows = [
        row
        for article in _read_articles()
        for row in _sentence_rows(article)
        if include_boilerplate or not row["boilerplate"]
    ]
    return _by_split(datasets.Dataset.from_list(rows), split)


def load_articles(split: str | None = None) -> Any:
    """The corpus as whole articles (``id, lang, title, text, sentences, split`` ...).

    Example:
        >>> from kontak_nlp.data import load_articles
        >>> load_articles("test")[0]["text"][:20]  # doctest: +SKIP
        'Indonesia dan Malays'
    """
    import datasets

    return _by_split(datasets.Dataset.from_list(_read_articles()), split)


def _read_articles() -> list[dict[str, Any]]:
    import gzip
    import json

    path = corpus_path()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _sentence_rows(article: dict[str, Any]) -> list[dict[str, Any]]:
    keep = ("lang", "source_style", "topic", "split")
    return [
        {
            "text": s["text"],
            "label": s["label"],
            "article_id": article["id"],
            "sent_idx": s["idx"],
            "start": s["start"],
            "end": s["end"],
            "hard": bool(s.get("hard")),
            "hard_type": s.get("hard_type") or "",
            "boilerplate": bool(s.get("boilerplate")),
            **{k: article[k] for k in keep},
        }
        for s in article["sentences"]
    ]


def _by_split(ds: Any, split: str | None) -> Any:
    import datasets

    if split is None:
        return datasets.DatasetDict({name: ds.filter(lambda r, n=name: r["split"] == n) for name in SPLITS})
    if split not in SPLITS:
        raise DataError(f"split={split!r}; expected one of {SPLITS} or None")
    return ds.filter(lambda r: r["split"] == split)
