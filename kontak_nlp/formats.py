"""File formats by extension: the one table that jobs, Ray and the training-data loader read.

Each consumer states which of these formats it supports; the names here are the only spelling.

Example:
    >>> format_of("news.NDJSON")
    'jsonl'
"""

from __future__ import annotations

from pathlib import Path

FORMATS = {
    ".txt": "txt",
    ".text": "txt",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
JOB_INPUTS = ("txt", "jsonl", "csv", "tsv", "parquet")
JOB_OUTPUTS = ("jsonl", "csv", "parquet")


def format_of(path: str | Path) -> str | None:
    """The format named by ``path``'s extension (case-insensitive), or None when it is unknown.

    Example:
        >>> format_of("a/b.pq"), format_of("notes.docx")
        ('parquet', None)
    """
    return FORMATS.get(Path(str(path).rstrip("/")).suffix.lower())


def suffixes(*formats: str) -> tuple[str, ...]:
    """The extensions of ``formats``.

    Example:
        >>> suffixes("parquet")
        ('.parquet', '.pq')
    """
    return tuple(suffix for suffix, fmt in FORMATS.items() if fmt in formats)
