"""Streaming readers: txt, JSONL, CSV/TSV, Parquet, stdin and article directories, one record at a time.

Nothing is read ahead beyond what a format needs (JSONL peeks at its first object to learn the
columns), so memory stays flat however large the input. Rows that cannot be used (undecodable
bytes, invalid JSON, missing field) become records with a ``problem``; the runner applies
``--on-error`` to them. Files that are not text at all raise :class:`DataError`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from kontak_nlp.checksums import sha256_file
from kontak_nlp.errors import DataError, InputError
from kontak_nlp.formats import JOB_INPUTS, format_of
from kontak_nlp.jobs._formats import (
    LineReader,
    Reader,
    Record,
    count_lines,
    decode_utf8,
    has_surrogates,
    require_column,
    strip_eol,
    text_problem,
)

__all__ = [
    "Reader",
    "Record",
    "detect_format",
    "jsonl_records",
    "open_reader",
    "parquet_records",
    "peek_first_object",
    "read_url_list",
    "text_problem",
]

_ARTICLE_SUFFIXES = (".txt", ".html", ".htm")
_PEEK_LINES = 1000


class TextReader(LineReader):
    """``.txt``: one sentence per line. Blank (or whitespace-only) lines are skipped and counted in
    ``blank_lines``; every other line is a row whose number is its 0-based line number."""

    fmt = "txt"
    blank_lines = 0

    def __iter__(self) -> Iterator[Record]:
        for row, raw in enumerate(self.stream):
            text, problem = decode_utf8(strip_eol(raw))
            if problem is None and not text.strip():
                self.blank_lines += 1
                continue
            yield Record(row, text, where=f"line {row + 1}", problem=problem)


class JsonlReader(LineReader):
    """``.jsonl``: one JSON object per line (or a bare JSON string); blank lines are ignored."""

    fmt = "jsonl"

    def __init__(self, source: str | Path, **kwargs: Any) -> None:
        super().__init__(source, **kwargs)
        self._peeked, first = peek_first_object(self.stream)
        if isinstance(first, dict):
            require_column(self.text_column, first, self.source, "text column (--text-column)")
            if self.id_required:
                require_column(self.id_column, first, self.source, "id column (--id-column)")
            self.has_ids = self.id_column in first
            self.id_kind = "any"

    def __iter__(self) -> Iterator[Record]:
        ids = self.id_column if self.has_ids else None
        yield from jsonl_records(_chain(self._peeked, self.stream), self.text_column, ids)


def peek_first_object(lines: Iterable[bytes]) -> tuple[list[bytes], Any]:
    """Read lines up to the first JSON object (at most 1000); return them and that object (or None).

    Example:
        >>> peek_first_object(iter([b"", b'{"text": "Halo."}', b"{}"]))
        ([b'', b'{"text": "Halo."}'], {'text': 'Halo.'})
    """
    peeked, first = [], None
    for raw in lines:
        peeked.append(raw)
        first = _loads(raw)
        if isinstance(first, dict) or len(peeked) >= _PEEK_LINES:
            break
    return peeked, first


def jsonl_records(
    lines: Iterable[bytes], text_column: str, id_column: str | None, first_row: int = 0
) -> Iterator[Record]:
    """Records of JSONL lines (line numbers from 1, blank lines skipped, rows from ``first_row``).

    Example:
        >>> [r.text for r in jsonl_records([b'{"text": "Halo."}', b"", b'"Apa?"'], "text", None)]
        ['Halo.', 'Apa?']
    """
    row = first_row
    for line_no, raw in enumerate(lines, start=1):
        if raw.strip():
            yield jsonl_record(raw, row, f"line {line_no}", text_column, id_column)
            row += 1


def jsonl_record(raw: bytes, row: int, where: str, text_column: str, id_column: str | None) -> Record:
    """One JSONL line as a record; a line that cannot be used becomes a record with a problem.

    Example:
        >>> jsonl_record(b"[1]", 0, "line 1", "text", None).problem
        'JSON list, expected an object'
    """
    text, problem = decode_utf8(raw)
    if problem:
        return Record(row, None, where=where, problem=problem)
    try:
        value = json.loads(text)
    except ValueError as err:
        return Record(row, None, where=where, problem=f"invalid JSON ({err.msg})")
    if isinstance(value, str):
        return Record(row, value, where=where)
    if not isinstance(value, dict):
        return Record(row, None, where=where, problem=f"JSON {type(value).__name__}, expected an object")
    item_id = value.get(id_column) if id_column else None
    if text_column not in value:
        return Record(row, None, item_id, where, f"no {text_column!r} field")
    return Record(row, value[text_column], item_id, where)


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _chain(first: list[bytes], rest: BinaryIO) -> Iterator[bytes]:
    while first:
        yield first.pop(0)
    yield from rest


class CsvReader(LineReader):
    """``.csv`` / ``.tsv`` with a header row; every data row is a row."""

    fmt = "csv"

    def __init__(self, source: str | Path, *, delimiter: str = ",", **kwargs: Any) -> None:
        super().__init__(source, **kwargs)
        csv.field_size_limit(1 << 30)
        self._text = io.TextIOWrapper(self.stream, encoding="utf-8", errors="surrogateescape", newline="")
        self._reader = csv.reader(self._text, delimiter=delimiter)
        header = next(self._reader, None)
        if header is None:
            raise DataError(f"{self.source}: empty CSV file (no header row)")
        if any(has_surrogates(name) for name in header):
            raise DataError(f"{self.source}: the header row is not valid UTF-8; undecodable input file")
        require_column(self.text_column, header, self.source, "text column (--text-column)")
        if self.id_required:
            require_column(self.id_column, header, self.source, "id column (--id-column)")
        self.has_ids, self.id_kind = self.id_column in header, "str"
        self._text_at = header.index(self.text_column)
        self._id_at = header.index(self.id_column) if self.has_ids else None

    def __iter__(self) -> Iterator[Record]:
        for row, fields in enumerate(self._reader):
            where = f"line {self._reader.line_num}"
            item_id = _field(fields, self._id_at)
            text = _field(fields, self._text_at)
            if text is None:
                yield Record(row, None, item_id, where, f"{len(fields)} field(s), too few for the header")
            elif has_surrogates(text):
                yield Record(row, None, item_id, where, "undecodable bytes (not valid UTF-8)")
            else:
                yield Record(row, text, item_id, where)

    def estimate_total(self) -> int | None:
        return max(count_lines(self.path) - 1, 0) if self.path is not None else None

    def close(self) -> None:
        if self.path is not None:
            self._text.close()
        else:
            self._text.detach()  # leave stdin open


def _field(fields: list[str], index: int | None) -> str | None:
    return fields[index] if index is not None and index < len(fields) else None


class ParquetReader(Reader):
    """``.parquet``: read in record batches of ``batch_rows``; only the text and id columns load."""

    fmt = "parquet"

    def __init__(self, source: str | Path, *, batch_rows: int = 2048, **kwargs: Any) -> None:
        super().__init__(source, **kwargs)
        import pyarrow.parquet as pq

        if self.path is None:
            raise DataError("Parquet cannot be read from stdin; pass the file path")
        try:
            self.file = pq.ParquetFile(self.path)
        except Exception as err:  # pyarrow raises ArrowInvalid, OSError...
            raise DataError(f"{self.source}: not a readable Parquet file ({err})") from err
        names = self.file.schema_arrow.names
        require_column(self.text_column, names, self.source, "text column (--text-column)")
        if self.id_required:
            require_column(self.id_column, names, self.source, "id column (--id-column)")
        self.has_ids = self.id_column in names
        if self.has_ids:
            self.id_kind = str(self.file.schema_arrow.field(self.id_column).type)
        self.batch_rows = batch_rows

    def __iter__(self) -> Iterator[Record]:
        ids = self.id_column if self.has_ids else None
        columns = [self.text_column] + ([ids] if ids else [])
        batches = self.file.iter_batches(batch_size=self.batch_rows, columns=columns)
        yield from parquet_records(batches, self.text_column, ids)

    def estimate_total(self) -> int | None:
        return self.file.metadata.num_rows

    def close(self) -> None:
        self.file.close()


def parquet_records(
    batches: Iterable[Any], text_column: str, id_column: str | None, first_row: int = 0
) -> Iterator[Record]:
    """Records of pyarrow record batches (rows numbered from ``first_row``).

    Example:
        >>> import pyarrow as pa
        >>> batch = pa.record_batch({"text": ["Halo.", None]})
        >>> [(r.row, r.text) for r in parquet_records([batch], "text", None, first_row=5)]
        [(5, 'Halo.'), (6, None)]
    """
    row = first_row
    for batch in batches:
        texts = batch.column(text_column).to_pylist()
        ids = batch.column(id_column).to_pylist() if id_column else [None] * len(texts)
        for text, item_id in zip(texts, ids):
            yield Record(row, text, item_id, f"row {row}")
            row += 1


class TextArticleReader(LineReader):
    """``.txt`` with ``--articles``: articles separated by blank lines; ids are 0-based block numbers."""

    fmt = "txt"

    def __iter__(self) -> Iterator[Record]:
        block: list[bytes] = []
        first_line = row = 0
        for line_no, raw in enumerate(self.stream, start=1):
            line = strip_eol(raw)
            if line.strip():
                first_line = first_line if block else line_no
                block.append(line)
            elif block:
                yield _article(row, row, b"\n".join(block), f"line {first_line}")
                block, row = [], row + 1
        if block:
            yield _article(row, row, b"\n".join(block), f"line {first_line}")

    def estimate_total(self) -> int | None:
        return None


class ArticleDirReader(Reader):
    """A directory of ``.txt`` and ``.html`` files (searched recursively, sorted by path): one article
    per file; the text of an HTML page is extracted when it is segmented.

    The article id is the file's path relative to the directory.
    """

    fmt = "dir"
    id_kind = "str"
    has_ids = True

    def __init__(self, source: str | Path, **kwargs: Any) -> None:
        super().__init__(source, **kwargs)
        assert self.path is not None
        found = [p for p in self.path.rglob("*") if p.suffix.lower() in _ARTICLE_SUFFIXES and p.is_file()]
        self.files = sorted(found, key=lambda p: p.relative_to(self.path).as_posix())
        if not self.files:
            raise DataError(f"{self.source}: no .txt or .html files in this directory")

    def __iter__(self) -> Iterator[Record]:
        assert self.path is not None
        for row, file in enumerate(self.files):
            name = file.relative_to(self.path).as_posix()
            yield _article(row, name, file.read_bytes(), name)

    def estimate_total(self) -> int | None:
        return len(self.files)

    def fingerprint(self) -> dict[str, Any]:
        assert self.path is not None
        digest = hashlib.sha256()
        for file in self.files:
            name = file.relative_to(self.path).as_posix()
            digest.update(f"{name}\0{sha256_file(file)}\n".encode("utf-8", "surrogateescape"))
        return {"input": str(self.path.resolve()), "files": len(self.files), "sha256": digest.hexdigest()}


class UrlReader(Reader):
    """Web pages fetched one by one: one article per URL, the URL is its id.

    A page that cannot be fetched becomes a record with the reason as its problem (``--on-error``
    decides what happens to it).
    """

    fmt = "url"
    id_kind = "str"
    has_ids = True

    def __init__(self, urls: Sequence[str], *, fetch_config: Any = None, **kwargs: Any) -> None:
        super().__init__("-", **kwargs)
        self.source = f"{len(urls)} URL(s)"
        self.urls = list(urls)
        self.fetch_config = fetch_config

    def __iter__(self) -> Iterator[Record]:
        from kontak_nlp.text.fetch import fetch

        for row, url in enumerate(self.urls):
            try:
                text = fetch(url, self.fetch_config).text()
            except (DataError, InputError) as err:
                yield Record(row, None, url, f"URL {url}", str(err))
                continue
            yield Record(row, text, url, f"URL {url}")

    def estimate_total(self) -> int | None:
        return len(self.urls)

    def fingerprint(self) -> dict[str, Any]:
        digest = hashlib.sha256("\n".join(self.urls).encode("utf-8")).hexdigest()
        return {"input": "urls", "urls": len(self.urls), "listing": digest}


def read_url_list(path: str | Path) -> list[str]:
    """The URLs of a file, one per line; blank lines and lines starting with ``#`` are skipped.

    Raises:
        DataError: The file is missing, not UTF-8, or lists no URL.

    Example:
        >>> read_url_list("urls.txt")  # doctest: +SKIP
        ['https://example.com/berita/1', 'https://example.com/berita/2']
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as err:
        raise DataError(f"{path}: URL list file does not exist") from err
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: URL list is not UTF-8 text") from err
    urls = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not urls:
        raise DataError(f"{path}: no URLs in this file")
    return urls


def _article(row: int, item_id: Any, raw: bytes, where: str) -> Record:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text, problem = decode_utf8(raw)
    return Record(row, text, item_id, where, problem)


def detect_format(source: str | Path, input_format: str | None = None, *, articles: bool = False) -> str:
    """The input format: ``input_format`` if given, else from the extension (stdin: sniffed later).

    Example:
        >>> detect_format("news.JSONL")  # doctest: +SKIP
        'jsonl'
    """
    if input_format:
        return input_format
    if str(source) == "-":
        return "auto"
    path = Path(source)
    if path.is_dir():
        if not articles:
            raise DataError(f"{source}: is a directory; pass --articles to classify its .txt/.html articles")
        return "dir"
    if not path.exists():
        raise DataError(f"{source}: input file does not exist")
    fmt = format_of(path)
    if fmt not in JOB_INPUTS:
        raise DataError(
            f"{source}: unknown input format {path.suffix or '(no extension)'!r}; use .txt, .jsonl, .csv, "
            ".tsv or .parquet, or pass --input-format"
        )
    return fmt


def _sniff_stdin() -> str:
    head = sys.stdin.buffer.peek(1)[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return "jsonl" if head.startswith(b"{") else "txt"


def open_reader(
    source: str | Path,
    *,
    input_format: str | None = None,
    text_column: str = "text",
    id_column: str | None = None,
    articles: bool = False,
    chunk_size: int = 2048,
    urls: Sequence[str] = (),
    fetch_config: Any = None,
) -> Reader:
    """Open ``source`` (a path or ``"-"``), or the pages at ``urls``, with the reader its format needs;
    checks columns up front.

    Raises:
        DataError: Missing, unknown or undecodable file; missing text/id column.

    Example:
        >>> reader = open_reader("news.jsonl", text_column="body")  # doctest: +SKIP
        >>> next(iter(reader)).text  # doctest: +SKIP
        'Menlu RI bertemu Menlu Jepang.'
    """
    if urls:
        return UrlReader(urls, fetch_config=fetch_config, text_column=text_column, id_column=id_column)
    fmt = detect_format(source, input_format, articles=articles)
    if fmt == "auto":
        fmt = _sniff_stdin()
    kwargs: dict[str, Any] = {"text_column": text_column, "id_column": id_column}
    if fmt == "dir":
        return ArticleDirReader(source, **kwargs)
    if fmt == "txt":
        return TextArticleReader(source, **kwargs) if articles else TextReader(source, **kwargs)
    if fmt == "jsonl":
        return JsonlReader(source, **kwargs)
    if fmt in ("csv", "tsv"):
        return CsvReader(source, delimiter="\t" if fmt == "tsv" else ",", **kwargs)
    return ParquetReader(source, batch_rows=chunk_size, **kwargs)
