"""Plumbing of :mod:`kontak_nlp.integrations.ray`: batches as Arrow tables, file reading, output.

Reading is done by Ray tasks over *slices* (whole Parquet row groups, or one JSONL file) that know
the global number of their first row, so every output row carries the same ``row`` as the
single-process job. Records come from the job engine's own readers
(:func:`~kontak_nlp.jobs.readers.jsonl_records`, :func:`~kontak_nlp.jobs.readers.parquet_records`).
Ray itself is imported only inside functions.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kontak_nlp.errors import DataError, KontakError
from kontak_nlp.formats import format_of, suffixes
from kontak_nlp.jobs._formats import require_column
from kontak_nlp.jobs.readers import Record, jsonl_records, parquet_records, peek_first_object, text_problem

PROBLEM = "_problem"  # optional input column: why a row cannot be used (set by the readers here)
SLICE_ROWS = 65_536  # Parquet rows per read task (whole row groups)
BLOCK_ROWS = 4_096  # rows per block that a read task emits
RAY_FORMATS = {"parquet": "parquet", "jsonl": "jsonl", "json": "jsonl"}  # file format -> what Ray reads
_KONTAK_ERROR = re.compile(r"^kontak_nlp\.errors\.(\w+): (.+)$", re.MULTILINE)


def import_ray() -> Any:
    """The ``ray`` package (with Ray Data), or an ImportError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise ImportError(
            "kontak_nlp.integrations.ray needs Ray Data; install it with: pip install 'kontak-nlp[ray]'"
        ) from err
    return ray


def actor_pool(concurrency: int | tuple[int, int]) -> Any:
    """``ActorPoolStrategy`` for a fixed pool (``n``) or an autoscaling one (``(min, max)``)."""
    from ray.data import ActorPoolStrategy

    if isinstance(concurrency, tuple):
        return ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
    return ActorPoolStrategy(size=concurrency)


@contextlib.contextmanager
def ray_session(ray: Any, address: str | None) -> Iterator[None]:
    """Use the running Ray instance, else start one (``address=None``) or join a cluster for the job."""
    if ray.is_initialized():
        yield
        return
    ray.init(address=address)
    try:
        yield
    finally:
        ray.shutdown()


def _user_error(err: BaseException) -> BaseException:
    """The kontak error (bad row, missing column, model) behind a Ray task failure, else ``err``.

    Ray ships a task's exception to the driver as text inside ``RayTaskError``; the original
    class and message are on the ``kontak_nlp.errors.<Name>: <message>`` line of its traceback.
    """
    if isinstance(err, KontakError) and type(err).__module__.startswith("kontak_nlp"):
        return err
    from kontak_nlp import errors

    match = _KONTAK_ERROR.search(str(err))
    kind = getattr(errors, match.group(1), None) if match else None
    if match and isinstance(kind, type) and issubclass(kind, KontakError):
        return kind(match.group(2))
    return err


@contextlib.contextmanager
def kontak_errors() -> Iterator[None]:
    """Re-raise a Ray task failure caused by a kontak error as that error (exit codes as the CLI)."""
    try:
        yield
    except Exception as err:
        cause = _user_error(err)
        if cause is err:
            raise
        raise cause from err


def columns_of(batch: Any) -> dict[str, list[Any]]:
    """A pandas DataFrame, a dict of numpy arrays or a pyarrow Table as plain Python lists."""
    if hasattr(batch, "to_pydict"):
        return batch.to_pydict()
    if hasattr(batch, "columns") and hasattr(batch, "to_dict"):  # pandas: pd.NA becomes None
        return {str(name): [None if _is_na(v) else v for v in batch[name].tolist()] for name in batch.columns}
    return {name: (v.tolist() if hasattr(v, "tolist") else list(v)) for name, v in batch.items()}


def _is_na(value: Any) -> bool:
    return type(value).__name__ in ("NAType", "NaTType")


def infer_array(values: list[Any]) -> Any:
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed id types: write them as text
        text = [v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values]
        return pa.array(text, pa.string())


def arrow_table(rows: list[dict[str, Any]], columns: Iterable[tuple[str, str]]) -> Any:
    """Rows as a pyarrow Table with a fixed schema, so every block (and output file) agrees."""
    import pyarrow as pa

    kinds = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(), "bool": pa.bool_()}
    arrays, names = [], []
    for name, kind in columns:
        values = [row.get(name) for row in rows]
        arrays.append(infer_array(values) if kind == "infer" else pa.array(values, kinds[kind]))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def _filesystem(source: str | Path) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    text = str(source)
    return pafs.FileSystem.from_uri(text if "://" in text else os.path.abspath(text))


def _list_files(source: str | Path, fmt: str) -> tuple[Any, list[str]]:
    """The input files, sorted: ``source`` itself or the ``fmt`` files under a directory."""
    import pyarrow.fs as pafs

    fs, path = _filesystem(source)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"{source}: input does not exist")
    if info.type == pafs.FileType.File:
        return fs, [path]
    wanted = suffixes(*(name for name, read_as in RAY_FORMATS.items() if read_as == fmt))
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    files = sorted(i.path for i in infos if i.type == pafs.FileType.File and _is_data(i.path, wanted))
    if not files:
        raise DataError(f"{source}: no {'/'.join(wanted)} files in this directory")
    return fs, files


def _is_data(path: str, wanted: tuple[str, ...]) -> bool:
    return path.lower().endswith(wanted) and not os.path.basename(path).startswith(("_", "."))


def _check_columns(names: Iterable[str], source: str, text_column: str, id_column: str | None) -> bool:
    """Raise DataError for a missing text (or explicit id) column; return whether ids are present."""
    names = list(names)
    require_column(text_column, names, source, "text column (--text-column)")
    if id_column is not None:
        require_column(id_column, names, source, "id column (--id-column)")
    return (id_column or "id") in names


def _plan_parquet(fs: Any, files: list[str], text_column: str, id_column: str | None) -> tuple[list, bool]:
    """Read slices of whole row groups, each with the global number of its first row."""
    import pyarrow.parquet as pq

    slices, offset, has_ids = [], 0, False
    for n, path in enumerate(files):
        with fs.open_input_file(path) as handle:
            meta = pq.ParquetFile(handle).metadata
            if n == 0:
                has_ids = _check_columns(meta.schema.to_arrow_schema().names, path, text_column, id_column)
        start, rows = 0, 0
        for group in range(meta.num_row_groups):
            rows += meta.row_group(group).num_rows
            if rows >= SLICE_ROWS or group == meta.num_row_groups - 1:
                slices.append(
                    {"path": path, "start": start, "stop": group + 1, "offset": offset, "rows": rows}
                )
                start, offset, rows = group + 1, offset + rows, 0
    return slices, has_ids


def _jsonl_lines(fs: Any, path: str) -> Iterator[bytes]:
    """The lines of a JSONL file (a leading BOM dropped), as the job's reader sees them."""
    with fs.open_input_stream(path) as stream:
        lines = _split_lines(stream)
        first = next(lines, None)
        if first is not None:
            yield first[3:] if first.startswith(b"\xef\xbb\xbf") else first
            yield from lines


def _split_lines(stream: Any) -> Iterator[bytes]:
    """Lines of a pyarrow input stream (its ``readline`` is not supported on every filesystem)."""
    pending = b""
    while block := stream.read(1 << 20):
        lines = (pending + block).split(b"\n")
        pending = lines.pop()
        yield from lines
    if pending:
        yield pending


def _count_lines(row: dict[str, Any], *, filesystem: Any) -> dict[str, Any]:
    return {
        "path": row["path"],
        "rows": sum(1 for raw in _jsonl_lines(filesystem, row["path"]) if raw.strip()),
    }


def _plan_jsonl(ray: Any, fs: Any, files: list[str], text_column: str, id_column: str | None) -> tuple:
    """One read slice per file; row offsets come from a parallel count of the files' records."""
    _, first = peek_first_object(_jsonl_lines(fs, files[0]))
    has_ids = isinstance(first, dict) and _check_columns(first, files[0], text_column, id_column)
    items = ray.data.from_items([{"path": p} for p in files], override_num_blocks=len(files))
    counts = {r["path"]: r["rows"] for r in items.map(_count_lines, fn_kwargs={"filesystem": fs}).take_all()}
    offsets = itertools.accumulate([counts[p] for p in files], initial=0)
    return [
        {"path": p, "start": 0, "stop": 0, "offset": o, "rows": counts[p]} for p, o in zip(files, offsets)
    ], has_ids


def _slice_records(
    fs: Any, piece: dict[str, Any], fmt: str, text_column: str, id_column: str | None
) -> Iterator[Record]:
    if fmt == "jsonl":
        yield from jsonl_records(_jsonl_lines(fs, piece["path"]), text_column, id_column, piece["offset"])
        return
    import pyarrow.parquet as pq

    columns = [text_column] + ([id_column] if id_column else [])
    with fs.open_input_file(piece["path"]) as handle:
        groups = range(piece["start"], piece["stop"])
        batches = pq.ParquetFile(handle).iter_batches(BLOCK_ROWS, row_groups=groups, columns=columns)
        yield from parquet_records(batches, text_column, id_column, piece["offset"])


def _record_block(records: list[Record], has_ids: bool) -> Any:
    rows = []
    for r in records:
        problem = text_problem(r) if not isinstance(r.text, str) else r.problem
        text = r.text if isinstance(r.text, str) else None
        if text is not None and any("\ud800" <= ch <= "\udfff" for ch in text):
            text, problem = None, "undecodable bytes (not valid UTF-8)"
        rows.append({"row": r.row, "text": text, "id": r.id, PROBLEM: problem})
    columns = [("row", "int"), ("text", "str")] + ([("id", "infer")] if has_ids else []) + [(PROBLEM, "str")]
    return arrow_table(rows, columns)


def _read_slices(
    batch: Any, *, filesystem: Any, fmt: str, text_column: str, id_column: str | None
) -> Iterator:
    """``map_batches`` generator: read slices, yield blocks of ``row, text, id, _problem``."""
    for piece in columns_of(batch)["piece"]:
        records = _slice_records(filesystem, piece, fmt, text_column, id_column)
        while chunk := list(itertools.islice(records, BLOCK_ROWS)):
            yield _record_block(chunk, id_column is not None)


# --------------------------------------------------------------------------- job input and output
def detect_format(source: str | Path, explicit: str | None, default: str | None = None) -> str:
    """``parquet`` or ``jsonl``: ``explicit``, else from the extension, else ``default``."""
    fmt = explicit or RAY_FORMATS.get(format_of(source) or "") or default
    if fmt is None and Path(str(source)).is_dir():
        found = [RAY_FORMATS[f] for f in map(format_of, Path(str(source)).rglob("*")) if f in RAY_FORMATS]
        fmt = found[0] if found else None
    if fmt not in ("parquet", "jsonl"):
        raise ValueError(f"{source}: --engine ray reads and writes Parquet or JSONL (got {fmt or 'unknown'})")
    return fmt


def plan_input(ray: Any, source: str | Path, fmt: str, text_column: str, id_column: str | None) -> tuple:
    """``(filesystem, slices, id_column or None)`` of the input: columns checked, rows numbered."""
    fs, files = _list_files(source, fmt)
    plan = _plan_parquet if fmt == "parquet" else _plan_jsonl
    args = (
        (fs, files, text_column, id_column) if fmt == "parquet" else (ray, fs, files, text_column, id_column)
    )
    slices, has_ids = plan(*args)
    return fs, slices, (id_column or "id") if has_ids else None


def read_dataset(
    ray: Any, fs: Any, slices: list[dict], fmt: str, text_column: str, id_column: str | None
) -> Any:
    """A Dataset of ``row, text, [id], _problem`` rows, one read task per slice."""
    items = ray.data.from_items([{"piece": s} for s in slices], override_num_blocks=max(1, len(slices)))
    kwargs = {"filesystem": fs, "fmt": fmt, "text_column": text_column, "id_column": id_column}
    return items.map_batches(_read_slices, batch_size=1, batch_format="pyarrow", fn_kwargs=kwargs)


def prepare_output(output: str | Path, force: bool) -> tuple[Any, str]:
    """Refuse an existing non-empty output directory unless ``force`` (then empty it)."""
    import pyarrow.fs as pafs

    from kontak_nlp.jobs import JobError

    fs, path = _filesystem(output)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.File:
        raise JobError(f"{output}: is a file; --engine ray writes a directory of part files")
    if info.type == pafs.FileType.Directory and fs.get_file_info(pafs.FileSelector(path)):
        if not force:
            raise JobError(f"{output}: output directory exists; pass --force to overwrite it")
        fs.delete_dir_contents(path)
    return fs, path


def write_output(ds: Any, fs: Any, path: str, output: str | Path, fmt: str) -> None:
    """Write the Dataset (one file per write task), then an empty ``_SUCCESS`` marker."""
    target = str(output) if "://" in str(output) else os.path.abspath(str(output))
    if fmt == "parquet":
        ds.write_parquet(target)
    else:
        ds.write_json(target, force_ascii=False)
    fs.create_dir(path, recursive=True)
    with fs.open_output_stream(f"{path}/_SUCCESS"):
        pass


def _file_counts(item: dict[str, Any], *, filesystem: Any, fmt: str) -> dict[str, Any]:
    path = item["path"]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with filesystem.open_input_file(path) as handle:
            file = pq.ParquetFile(handle)
            wanted = [c for c in ("article_id", "error", "boilerplate") if c in file.schema_arrow.names]
            rows = file.read(columns=wanted).to_pylist() if wanted else [{}] * file.metadata.num_rows
    else:
        rows = [json.loads(raw) for raw in _jsonl_lines(filesystem, path) if raw.strip()]
    return {
        "units": len(rows),
        "errored": sum(row.get("error") is not None for row in rows),
        "boilerplate": sum(bool(row.get("boilerplate")) for row in rows),
        "article_ids": sorted({json.dumps(row.get("article_id")) for row in rows if "article_id" in row}),
    }


def output_counts(ray: Any, fs: Any, path: str, fmt: str) -> dict[str, int]:
    """What the job wrote, counted by Ray tasks over the output files: rows, articles, errors, boilerplate."""
    import pyarrow.fs as pafs

    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    files = [
        i.path for i in infos if i.type == pafs.FileType.File and not os.path.basename(i.path).startswith("_")
    ]
    totals: dict[str, Any] = {"units": 0, "errored": 0, "boilerplate": 0, "article_ids": set()}
    if files:
        items = ray.data.from_items([{"path": f} for f in files], override_num_blocks=len(files))
        for counts in items.map(_file_counts, fn_kwargs={"filesystem": fs, "fmt": fmt}).take_all():
            for key in ("units", "errored", "boilerplate"):
                totals[key] += counts[key]
            totals["article_ids"].update(counts["article_ids"])
    totals["articles"] = len(totals.pop("article_ids"))
    return totals
