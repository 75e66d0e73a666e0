"""Building blocks of the readers: :class:`Record`, the :class:`Reader` base, decoding and sniffing."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from kontak_nlp.checksums import sha256_file
from kontak_nlp.errors import DataError
from kontak_nlp.inference.texts import describe_bad_text, find_surrogate

_MAGIC = {
    b"\x1f\x8b": "gzip-compressed; decompress it first (e.g. zcat FILE | kontak-nlp classify - ...)",
    b"PK\x03\x04": "a zip archive; extract it first",
    b"\xff\xfe": "UTF-16 encoded; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)",
    b"\xfe\xff": "UTF-16 encoded; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)",
}


@dataclass
class Record:
    """One input row: its 0-based position, id, text (or raw value) and any problem found reading it.

    ``extra`` holds input columns copied into each output row (Ray keeps a dataset's columns).

    Example:
        >>> Record(row=17, text="Menlu tiba.", id="a17", where="line 18")
        Record(row=17, text='Menlu tiba.', id='a17', where='line 18', problem=None)
    """

    row: int
    text: Any
    id: Any = None
    where: str = ""
    problem: str | None = None
    extra: dict[str, Any] | None = field(default=None, repr=False)


def text_problem(record: Record) -> str | None:
    """Why a record cannot be classified (None when it can), as a short phrase.

    Example:
        >>> text_problem(Record(0, "  ")), text_problem(Record(1, None)), text_problem(Record(2, "Halo."))
        ('empty text', 'text is None', None)
    """
    if record.problem:
        return record.problem
    problem = describe_bad_text(record.text)
    if problem:
        return f"text {problem}"
    if has_lone_surrogate(record.id):
        return "id has an unpaired surrogate (not valid Unicode text)"
    if not record.text.strip():
        return "empty text"
    return None


def has_lone_surrogate(value: Any) -> bool:
    r"""True when ``value`` (a str, or a list/dict of them, e.g. a JSON id) has an unpaired surrogate.

    Such values cannot be written as UTF-8, so their rows follow ``--on-error``.

    Example:
        >>> has_lone_surrogate("a\ud800"), has_lone_surrogate({"k": ["\udfff"]}), has_lone_surrogate(7)
        (True, True, False)
    """
    if isinstance(value, str):
        return find_surrogate(value) is not None
    if isinstance(value, (list, tuple, dict)):
        return find_surrogate(json.dumps(value, ensure_ascii=False, default=str)) is not None
    return False


class Reader:
    """Base reader: iterate to get :class:`Record` objects in input order."""

    fmt = "txt"
    has_ids = False
    id_kind = "int"  # "int" (row numbers), "str", or a pyarrow type name from a Parquet schema

    def __init__(
        self, source: str | Path, *, text_column: str = "text", id_column: str | None = None
    ) -> None:
        self.source = str(source)
        self.path = None if self.source == "-" else Path(source)
        self.text_column = text_column
        self.id_column = id_column or "id"
        self.id_required = id_column is not None

    def __iter__(self) -> Iterator[Record]:
        raise NotImplementedError

    def estimate_total(self) -> int | None:
        """Roughly how many records there are (for the progress bar), or None if unknown."""
        return None

    def fingerprint(self) -> dict[str, Any]:
        """Identifies the input by path and content (sha256), so a resumed job can tell it changed.

        stdin has no fingerprint: a resumed job checks the hash of the rows it committed instead.
        """
        if self.path is None:
            return {"input": "-"}
        size = self.path.stat().st_size
        return {"input": str(self.path.resolve()), "size": size, "sha256": sha256_file(self.path)}

    def close(self) -> None:
        """Release the open file, if any."""


def decode_utf8(raw: bytes) -> tuple[str | None, str | None]:
    r"""``(text, None)``, or ``(None, problem)`` when ``raw`` is not valid UTF-8.

    Example:
        >>> decode_utf8(b"caf\xc3\xa9"), decode_utf8(b"caf\xe9")[1]
        (('café', None), 'undecodable bytes (not valid UTF-8 at byte 3)')
    """
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as err:
        return None, f"undecodable bytes (not valid UTF-8 at byte {err.start})"


def strip_eol(raw: bytes) -> bytes:
    r"""Drop one trailing ``\n`` or ``\r\n``.

    Example:
        >>> strip_eol(b"Halo.\r\n")
        b'Halo.'
    """
    return raw[:-2] if raw.endswith(b"\r\n") else raw[:-1] if raw.endswith(b"\n") else raw


def sniff(head: bytes, name: str) -> None:
    r"""Raise DataError when a file is plainly not UTF-8 text (compressed, UTF-16, binary, Parquet).

    Example:
        >>> sniff(b"\x1f\x8b\x08", "news.jsonl")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        kontak_nlp.errors.DataError: news.jsonl: undecodable input file: it is gzip-compressed; ...
    """
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"{name}: undecodable input file: it is {what}")
    if head.startswith(b"PAR1"):
        raise DataError(f"{name}: this is a Parquet file; name it .parquet or pass --input-format parquet")
    if b"\x00" in head:
        raise DataError(f"{name}: undecodable input file: binary data (NUL bytes), not UTF-8 text")


def count_lines(path: Path) -> int:
    """Number of lines (a last line without a newline counts), scanning 1 MiB blocks.

    Example:
        >>> count_lines(Path("news.txt"))  # doctest: +SKIP
        120000
    """
    count, last = 0, b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


class LineReader(Reader):
    """Shared plumbing of the line formats: a binary stream (file or stdin), sniffed, BOM dropped."""

    def __init__(self, source: str | Path, **kwargs: Any) -> None:
        super().__init__(source, **kwargs)
        if self.path is None:
            self.stream: BinaryIO = sys.stdin.buffer
        else:
            self.stream = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        head = self.stream.peek(4096)[:4096] if hasattr(self.stream, "peek") else b""
        sniff(head, self.source)
        if head.startswith(b"\xef\xbb\xbf"):
            self.stream.read(3)

    def estimate_total(self) -> int | None:
        return count_lines(self.path) if self.path is not None else None

    def close(self) -> None:
        if self.path is not None:
            self.stream.close()


def require_column(column: str, available: Any, source: str, what: str) -> None:
    """Raise DataError naming the flag and the available columns when ``column`` is missing.

    Example:
        >>> require_column("text", ["text", "id"], "in.csv", "text column (--text-column)")
    """
    if column not in available:
        names = ", ".join(repr(str(name)) for name in list(available)[:20])
        kind, flag = what.split(" (")
        raise DataError(f"{source}: {kind} {column!r} not found (set it with {flag}; columns are: {names}")


def has_surrogates(text: str) -> bool:
    r"""True when ``text`` holds bytes that were not UTF-8 (decoded with ``surrogateescape``).

    Example:
        >>> has_surrogates(b"caf\xe9".decode("utf-8", "surrogateescape"))
        True
    """
    return any("\udc80" <= ch <= "\udcff" for ch in text)
