"""Chunk-committing writers for JSONL, CSV and Parquet (and JSONL on stdout).

File writers never touch the final output name until the job is done: they write ``OUT.part``
(or ``OUT.parts/``), flush and fsync every chunk, and publish with one atomic rename. See
:mod:`kontak_nlp.jobs.state` for the commit protocol.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kontak_nlp.jobs.state import JobError, JobPaths, OutputError, fsync_dir, output_error

__all__ = ["Column", "OutputError", "Writer", "open_writer", "output_error"]

_ROW_GROUP_ROWS = 65_536
_PART_RE = re.compile(r"part-(\d+)\.parquet")


@dataclass(frozen=True)
class Column:
    """One output column: its name and kind (``int``, ``float``, ``str``, ``bool`` or an Arrow type)."""

    name: str
    kind: str


def encode_jsonl(rows: Sequence[dict[str, Any]]) -> bytes:
    """Rows as UTF-8 JSON lines.

    Example:
        >>> encode_jsonl([{"row": 0, "label": "demand"}])
        b'{"row": 0, "label": "demand"}\\n'
    """
    # default=str: ids read from Parquet may be dates, decimals...
    return "".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows).encode("utf-8")


#: A text cell starting with one of these is a formula to spreadsheet programs (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value: Any, raw: bool) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not raw and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def encode_csv(
    rows: Sequence[dict[str, Any]], columns: Sequence[Column], *, header: bool = False, raw: bool = False
) -> bytes:
    """Rows as UTF-8 CSV (``None`` is an empty cell, booleans are ``true``/``false``).

    A text cell that starts with ``= + - @``, a tab or a carriage return gets a leading ``'``, so
    that spreadsheet programs show it as text instead of running it as a formula (numbers are
    left alone); ``raw=True`` writes every cell as it is.

    Example:
        >>> encode_csv([{"row": 0, "ok": True}], [Column("row", "int"), Column("ok", "bool")], header=True)
        b'row,ok\\n0,true\\n'
        >>> cells = [{"id": "=1+1"}], [Column("id", "str")]
        >>> encode_csv(*cells), encode_csv(*cells, raw=True)
        (b"'=1+1\\n", b'=1+1\\n')
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow([c.name for c in columns])
    for row in rows:
        writer.writerow([_csv_value(row.get(c.name), raw) for c in columns])
    return buffer.getvalue().encode("utf-8")


class Writer:
    """Base writer. ``position`` is what the state file records after each chunk."""

    position = 0

    def start(self) -> None:
        """Begin a fresh output."""

    def resume(self, position: int) -> None:
        """Continue after a committed ``position``, discarding anything written beyond it."""
        raise JobError("this output cannot be resumed")

    def write_chunk(self, rows: Sequence[dict[str, Any]]) -> int:
        """Write and durably commit one chunk; return the new position."""
        raise NotImplementedError

    def prepare_final(self) -> None:
        """Finish the temporary output (the state is then marked ``finalizing``)."""

    def publish(self) -> None:
        """Move the finished output to its final name (atomically)."""

    def cleanup(self) -> None:
        """Remove temporary files after publishing."""

    def close(self) -> None:
        """Close open handles without publishing (on errors)."""


class StdoutWriter(Writer):
    """JSONL on stdout, flushed after every chunk (no resume, no atomic rename)."""

    def __init__(self) -> None:
        self.stream = getattr(sys.stdout, "buffer", None)

    def write_chunk(self, rows: Sequence[dict[str, Any]]) -> int:
        data = encode_jsonl(rows)
        try:
            if self.stream is not None:
                self.stream.write(data)
                self.stream.flush()
            else:
                sys.stdout.write(data.decode("utf-8"))
                sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as err:
            raise output_error(err, "stdout", resumable=False) from err
        self.position += len(rows)
        return self.position


class AppendWriter(Writer):
    """JSONL or CSV: chunks appended to ``OUT.part``; ``position`` is its committed size in bytes."""

    def __init__(
        self, paths: JobPaths, encode: Callable[[Sequence[dict[str, Any]]], bytes], header: bytes = b""
    ):
        self.paths, self.encode, self.header = paths, encode, header
        self.handle: Any = None

    def start(self) -> None:
        try:
            self.handle = open(self.paths.part, "wb")  # noqa: SIM115 (closed in prepare_final/close)
            self._commit(self.header)
        except OSError as err:
            raise output_error(err, self.paths.part) from err
        self.position = len(self.header)

    def resume(self, position: int) -> None:
        if not self.paths.part.exists():
            raise JobError(f"{self.paths.part}: partial output is missing; start over with --force")
        size = self.paths.part.stat().st_size
        if size < position:
            raise JobError(
                f"{self.paths.part}: {size} bytes, but {position} were committed (was it modified?); "
                "start over with --force"
            )
        self.handle = open(self.paths.part, "r+b")  # noqa: SIM115
        self.handle.truncate(position)
        self.handle.seek(position)
        self.position = position

    def write_chunk(self, rows: Sequence[dict[str, Any]]) -> int:
        data = self.encode(rows)
        try:
            self._commit(data)
        except OSError as err:
            raise output_error(err, self.paths.part) from err
        self.position += len(data)
        return self.position

    def _commit(self, data: bytes) -> None:
        self.handle.write(data)
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def prepare_final(self) -> None:
        self.close()

    def publish(self) -> None:
        os.replace(self.paths.part, self.paths.final)
        fsync_dir(self.paths.final.parent)

    def close(self) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            handle.close()


class ParquetPartsWriter(Writer):
    """Parquet: one fsync'd part file per chunk, merged into one file (large row groups) at the end."""

    def __init__(self, paths: JobPaths, columns: Sequence[Column]) -> None:
        import pyarrow as pa

        self.paths, self.columns = paths, list(columns)
        self.schema = pa.schema([(c.name, _arrow_type(c.kind)) for c in self.columns])
        strings = (pa.string(), pa.large_string())
        self._as_text = {c.name for c in self.columns if c.kind != "str" and _arrow_type(c.kind) in strings}

    def _part(self, index: int) -> Path:
        return self.paths.parts_dir / f"part-{index:06d}.parquet"

    def start(self) -> None:
        shutil.rmtree(self.paths.parts_dir, ignore_errors=True)
        self.paths.parts_dir.mkdir(parents=True)
        self.position = 0

    def resume(self, position: int) -> None:
        if not self.paths.parts_dir.is_dir():
            raise JobError(f"{self.paths.parts_dir}: partial output is missing; start over with --force")
        for file in self.paths.parts_dir.iterdir():
            match = _PART_RE.fullmatch(file.name)
            if match is None or int(match.group(1)) >= position:
                file.unlink()  # a temporary file or a part that was never committed
        missing = [i for i in range(position) if not self._part(i).exists()]
        if missing:
            raise JobError(f"{self._part(missing[0])}: committed part is missing; start over with --force")
        self.position = position

    def write_chunk(self, rows: Sequence[dict[str, Any]]) -> int:
        import pyarrow.parquet as pq

        target = self._part(self.position)
        tmp = target.with_name(target.name + ".tmp")
        try:
            with open(tmp, "wb") as handle:
                pq.write_table(self._table(rows), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            fsync_dir(self.paths.parts_dir)
        except OSError as err:
            raise output_error(err, target) from err
        self.position += 1
        return self.position

    def _table(self, rows: Sequence[dict[str, Any]]) -> Any:
        import pyarrow as pa

        data = {c.name: [row.get(c.name) for row in rows] for c in self.columns}
        for name in self._as_text:
            data[name] = [_as_text(value) for value in data[name]]
        return pa.Table.from_pydict(data, schema=self.schema)

    def prepare_final(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            with open(self.paths.part, "wb") as handle:
                with pq.ParquetWriter(handle, self.schema) as writer:
                    pending: list[Any] = []
                    for index in range(self.position):
                        pending.append(pq.read_table(self._part(index), schema=self.schema))
                        if sum(t.num_rows for t in pending) >= _ROW_GROUP_ROWS:
                            writer.write_table(pa.concat_tables(pending), row_group_size=1 << 30)
                            pending = []
                    if pending or self.position == 0:
                        writer.write_table(pa.concat_tables(pending or [self.schema.empty_table()]))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            raise output_error(err, self.paths.part) from err

    def publish(self) -> None:
        os.replace(self.paths.part, self.paths.final)
        fsync_dir(self.paths.final.parent)

    def cleanup(self) -> None:
        shutil.rmtree(self.paths.parts_dir, ignore_errors=True)


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    simple = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_()}
    if kind in simple:
        return simple[kind]
    try:
        return pa.type_for_alias(kind)
    except (ValueError, KeyError):
        return pa.string()


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)


def open_writer(
    output: str | Path | None, fmt: str, columns: Sequence[Column], *, raw_csv: bool = False
) -> Writer:
    """The writer for ``output`` (None: JSONL on stdout) in format ``fmt`` (``raw_csv``: see
    :func:`encode_csv`).

    Example:
        >>> open_writer(None, "jsonl", [Column("row", "int")]).__class__.__name__
        'StdoutWriter'
    """
    if output is None:
        return StdoutWriter()
    paths = JobPaths.for_output(output)
    if fmt == "parquet":
        return ParquetPartsWriter(paths, columns)
    if fmt == "csv":
        return AppendWriter(
            paths,
            lambda rows: encode_csv(rows, columns, raw=raw_csv),
            encode_csv([], columns, header=True, raw=raw_csv),
        )
    return AppendWriter(paths, encode_jsonl)
