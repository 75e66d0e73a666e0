"""Batch inference on Ray Data: the ``kontak-nlp classify`` job spread over CPU or GPU workers.

:class:`KontakPredictor` is a callable class for ``ray.data.Dataset.map_batches`` (one model per
actor) and :func:`classify_dataset` applies it to a Dataset of sentences or articles, keeping the
input's other columns. :func:`run_ray_job` reads Parquet/JSONL files or directories, classifies
them on a local Ray instance or a cluster and writes a directory of Parquet/JSONL files with the
rows of the single-process job. Rows are built by the job engine itself
(:mod:`kontak_nlp.jobs.rows`, :mod:`kontak_nlp.jobs.readers`); this module only moves them.

Ray is imported when a function runs, never when this module is imported.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kontak_nlp.errors import DataError
from kontak_nlp.inference.options import RuntimeOptions
from kontak_nlp.integrations import _ray_io
from kontak_nlp.integrations._ray_io import PROBLEM, arrow_table, columns_of
from kontak_nlp.jobs._formats import Record
from kontak_nlp.jobs.rows import RowOptions, article_rows, proba_fn_of, segment_record, sentence_rows

if TYPE_CHECKING:  # pragma: no cover
    import argparse

    import ray.data

    from kontak_nlp.jobs import JobSummary

__all__ = ["KontakPredictor", "classify_dataset", "run_from_args", "run_ray_job"]

logger = logging.getLogger(__name__)
_SIMPLE = ("int", "float", "str", "bool")


class KontakPredictor:
    """Callable class for ``map_batches``: loads the model once per actor, classifies each batch.

    Each output row is the input row's kept columns followed by the columns of ``kontak-nlp
    classify`` (:mod:`kontak_nlp.jobs.rows`): ``id`` (with ``id_column``), ``row`` (with
    ``row_column``), ``label``, ``score`` (+ ``score_<label>``, ``text``, ``error``). With
    ``articles=True`` each input row is an article and gives one row per unit, with offsets.

    Args:
        model: Model directory, ``"default"``/None (the shipped model) or hub id, or a loaded model.
        keep_columns: Input columns copied into every output row. None keeps them all (articles:
            all but the article text); ``()`` keeps none, which gives exactly the job's rows.
        options: How the model runs (:class:`~kontak_nlp.inference.RuntimeOptions`; None: the
            defaults of ``kontak_nlp.classify()``). The other arguments are those of
            :class:`~kontak_nlp.jobs.JobConfig`.

    Example:
        >>> ds.map_batches(KontakPredictor, fn_constructor_kwargs={"model": "runs/news4"},  # doctest: +SKIP
        ...                batch_size=256, concurrency=2, batch_format="pandas")
    """

    def __init__(
        self,
        model: Any = None,
        *,
        text_column: str = "text",
        id_column: str | None = None,
        row_column: str | None = None,
        keep_columns: Sequence[str] | None = None,
        articles: bool = False,
        on_error: str = "raise",
        all_scores: bool = False,
        with_text: bool = False,
        options: RuntimeOptions | None = None,
    ) -> None:
        if model is None or isinstance(model, (str, os.PathLike)):
            from kontak_nlp.inference.loader import load_model

            model = load_model(model, options)
        self.model, self.text_column = model, text_column
        self.id_column, self.row_column = id_column, row_column
        self.keep_columns = None if keep_columns is None else list(keep_columns)
        self.row_options = RowOptions(
            labels=tuple(model.labels),
            on_error=on_error,
            articles=articles,
            has_ids=id_column is not None,
            with_text=with_text,
            all_scores=all_scores,
        )
        self.columns = _output_columns(self.row_options, has_row=row_column is not None)

    def _proba(self, texts: list[str], contexts: list[str] | None) -> Any:
        return proba_fn_of(self.model)(texts, contexts)

    def __call__(self, batch: Any) -> Any:
        """Classify one batch; returns a pyarrow Table (Ray accepts it for any ``batch_format``)."""
        cols = columns_of(batch)
        kept = self._kept(list(cols))
        records = _records(cols, self.text_column, self.id_column, self.row_column, kept)
        if self.row_options.articles:
            items = [segment_record(record)[0] for record in records]
            rows = article_rows(items, self._proba, self.row_options).rows
        else:
            rows = sentence_rows(records, self._proba, self.row_options).rows
        return arrow_table(rows, [(name, "infer") for name in kept] + self.columns)

    def _kept(self, names: list[str]) -> list[str]:
        """The input columns to copy: ``keep_columns`` or all, less those the job's own columns carry."""
        if self.keep_columns is None:
            article_text = self.text_column if self.row_options.articles else None
            wanted = [n for n in names if n not in (PROBLEM, article_text)]
        else:
            missing = [n for n in self.keep_columns if n not in names]
            if missing:
                raise DataError(f"keep_columns {missing} not found; the input columns are {names}")
            wanted = self.keep_columns
        same = {self.id_column: "id", self.row_column: "row"}
        if not self.row_options.articles:
            same[self.text_column] = "text" if self.row_options.with_text else None
        wanted = [n for n in wanted if same.get(n) != n]  # the job's own column carries it
        clash = [n for n in wanted if n in {name for name, _ in self.columns}]
        if clash:
            raise ValueError(
                f"input column(s) {clash} would be overwritten by the output columns of the same name; "
                "rename them, or narrow keep_columns="
            )
        return wanted


def _output_columns(options: RowOptions, has_row: bool) -> list[tuple[str, str]]:
    """The job's output columns (:meth:`RowOptions.columns`); ids keep their input type."""
    ids = {"id", "article_id"}
    return [
        (c.name, "infer" if c.name in ids or c.kind not in _SIMPLE else c.kind)
        for c in options.columns()
        if has_row or c.name != "row"
    ]


def _records(
    cols: dict[str, list[Any]], text: str, ids: str | None, rows: str | None, kept: list[str]
) -> list[Record]:
    """The batch's rows as the job engine's records, with the kept columns as ``extra``."""
    if text not in cols:
        raise DataError(f"text column {text!r} not found; the input columns are {list(cols)}")
    size = len(cols[text])
    numbers = cols[rows] if rows else range(size)
    id_values = cols[ids] if ids else [None] * size
    problems = cols.get(PROBLEM) or [None] * size
    records = []
    for i, (n, value, item_id, problem) in enumerate(zip(numbers, cols[text], id_values, problems)):
        where = f"row {n}" if rows else f"id {item_id!r}" if ids else f"batch row {n}"
        records.append(Record(n, value, item_id, where, problem, {k: cols[k][i] for k in kept}))
    return records


def classify_dataset(
    ds: ray.data.Dataset,
    model: Any = None,
    *,
    text_column: str = "text",
    id_column: str | None = None,
    row_column: str | None = None,
    keep_columns: Sequence[str] | None = None,
    articles: bool = False,
    batch_size: int = 256,
    concurrency: int | tuple[int, int] = 1,
    num_cpus: float | None = None,
    num_gpus: float = 0,
    all_scores: bool = False,
    on_error: str = "raise",
    with_text: bool = False,
    batch_format: str = "pandas",
    options: RuntimeOptions | None = None,
) -> ray.data.Dataset:
    """Classify a Ray Dataset of sentences (or, with ``articles=True``, of articles); lazy.

    Args:
        ds: Rows with a ``text_column``; ``id_column`` / ``row_column`` (0-based input row numbers)
            are also written as the job's ``id`` / ``row`` columns.
        model: Model directory, ``"default"``/None (the shipped model) or hub id, on every worker.
        keep_columns: Input columns kept in the output. None keeps every column, as
            ``map_batches`` users expect (articles: all but the article text); ``()`` keeps none.
        batch_size: Rows per ``map_batches`` call (texts are length-sorted within it).
        concurrency: Number of model actors, or ``(min, max)`` for an autoscaling pool.
        num_cpus: CPUs per actor (None: 1 for CPU actors, Ray's default for GPU actors).
        num_gpus: GPUs per actor (fractions share a GPU).
        options: How the model runs on each actor (:class:`~kontak_nlp.inference.RuntimeOptions`;
            None: the defaults of ``kontak_nlp.classify()``, so the labels are the same).

    Returns:
        A Dataset of the kept columns plus the rows of ``kontak-nlp classify``, in no particular order.

    Example:
        >>> import ray
        >>> ds = ray.data.read_parquet("s3://bucket/sentences/")  # doctest: +SKIP
        >>> out = classify_dataset(ds, "runs/news4", id_column="id", num_gpus=1)  # doctest: +SKIP
        >>> out.write_parquet("s3://bucket/labels/")  # doctest: +SKIP
    """
    _ray_io.import_ray()
    if on_error not in ("raise", "skip", "mark"):
        raise ValueError(f"on_error must be raise, skip or mark, got {on_error!r}")
    if articles and not (id_column or row_column):
        raise ValueError("articles=True needs id_column or row_column to identify each article")
    resources: dict[str, float] = {"num_gpus": num_gpus} if num_gpus else {"num_cpus": num_cpus or 1}
    if num_gpus and num_cpus:
        resources["num_cpus"] = num_cpus
    constructor = {
        "model": model,
        "text_column": text_column,
        "id_column": id_column,
        "row_column": row_column,
        "keep_columns": keep_columns,
        "articles": articles,
        "on_error": on_error,
        "all_scores": all_scores,
        "with_text": with_text,
        "options": options,
    }
    return ds.map_batches(
        KontakPredictor,
        fn_constructor_kwargs=constructor,
        batch_size=batch_size,
        batch_format=batch_format,
        compute=_ray_io.actor_pool(concurrency),
        **resources,
    )


def run_ray_job(
    input: str | Path,
    output: str | Path,
    *,
    model: str | Path | None = None,
    address: str | None = None,
    num_workers: int = 1,
    gpus_per_worker: float = 0.0,
    cpus_per_worker: float | None = None,
    text_column: str = "text",
    id_column: str | None = None,
    articles: bool = False,
    on_error: str = "raise",
    input_format: str | None = None,
    output_format: str | None = None,
    force: bool = False,
    progress: bool | None = None,
    batch_size: int = 256,
    all_scores: bool = False,
    with_text: bool = False,
    options: RuntimeOptions | None = None,
) -> JobSummary:
    """``kontak-nlp classify --engine ray``: Parquet/JSONL files in, a directory of part files out.

    Rows are the single-process job's, ``row`` included (global input row number, over the sorted
    files of a directory). Files are written one per write task, then ``_SUCCESS``.

    Args:
        input: A ``.parquet``/``.jsonl`` file or a directory of them (local, shared or ``s3://``...).
        output: A directory; its format follows its suffix (``.parquet``/``.jsonl``) or the input's.
        address: None starts a local Ray (unless one is running), ``"auto"`` or ``"ray://host:10001"``.
        num_workers: Model actors. gpus_per_worker / cpus_per_worker: resources per actor.
        batch_size, all_scores, with_text, options: as :func:`classify_dataset`.

    Raises:
        DataError, InputError, ModelLoadError, JobError: as ``kontak-nlp classify`` (unwrapped from Ray).

    Example:
        >>> from kontak_nlp.integrations.ray import run_ray_job
        >>> run_ray_job("news/", "labels.parquet", model="runs/news4", num_workers=4).line()  # doctest: +SKIP
        'kontak-nlp classify: 120000 rows read, 120000 written, 0 errored in 95.10 s (1262 rows/s) -> ...'
    """
    started = time.perf_counter()
    ray = _ray_io.import_ray()
    in_fmt = _ray_io.detect_format(input, input_format)
    out_fmt = _ray_io.detect_format(output, output_format, default=in_fmt)
    out_fs, out_path = _ray_io.prepare_output(output, force)
    with _ray_io.ray_session(ray, address), _ray_io.kontak_errors():
        if progress is not None:
            ray.data.DataContext.get_current().enable_progress_bars = progress
        fs, slices, ids = _ray_io.plan_input(ray, input, in_fmt, text_column, id_column)
        ds = classify_dataset(
            _ray_io.read_dataset(ray, fs, slices, in_fmt, text_column, ids),
            model,
            id_column="id" if ids else None,
            row_column="row",
            keep_columns=(),
            articles=articles,
            concurrency=num_workers,
            num_gpus=gpus_per_worker,
            num_cpus=cpus_per_worker,
            on_error=on_error,
            batch_size=batch_size,
            all_scores=all_scores,
            with_text=with_text,
            options=options,
        )
        _ray_io.write_output(ds, out_fs, out_path, output, out_fmt)
        counts = _ray_io.output_counts(ray, out_fs, out_path, out_fmt)
    read = sum(piece["rows"] for piece in slices)
    return _summary(read, counts, started, output, articles, on_error, options or RuntimeOptions())


def _summary(
    read: int,
    counts: dict[str, int],
    started: float,
    output: Any,
    articles: bool,
    on_error: str,
    options: RuntimeOptions,
) -> JobSummary:
    from kontak_nlp.jobs import JobSummary

    written = counts["articles"] if articles else counts["units"]
    return JobSummary(
        rows_read=read,
        rows_written=written,
        rows_errored=read - written if on_error == "skip" else counts["errored"],
        seconds=time.perf_counter() - started,
        output=str(output),
        articles=articles,
        units_written=counts["units"],
        boilerplate_rows=counts["boilerplate"],
        rows_this_run=read,
        backend=options.backend,
        precision="int8" if options.quantize else options.precision,
        on_error=on_error,
        complete=True,
    )


def run_from_args(args: argparse.Namespace) -> JobSummary:
    """Run ``kontak-nlp classify --engine ray`` from its parsed arguments.

    ``--chunk-size`` is the Ray batch (rows per actor call), ``--batch-size`` the forward pass,
    ``--num-threads`` the CPUs per actor.

    Example:
        >>> summary = run_from_args(parser.parse_args([...]))  # doctest: +SKIP
    """
    from kontak_nlp.cli._runtime import runtime_options

    if args.input == "-" or not args.output:
        raise ValueError("--engine ray reads files and writes a directory: pass INPUT and -o OUTPUT")
    if args.resume:
        raise ValueError("--engine ray does not --resume: Ray retries failed tasks; rerun with --force")
    if args.quiet:
        logging.getLogger("kontak_nlp").setLevel(logging.WARNING)
    return run_ray_job(
        args.input,
        args.output,
        model=args.model,
        address=args.address,
        num_workers=args.num_workers,
        gpus_per_worker=args.gpus_per_worker,
        cpus_per_worker=args.num_threads,
        text_column=args.text_column,
        id_column=args.id_column,
        articles=args.articles,
        on_error=args.on_error,
        input_format=args.input_format,
        force=args.force,
        progress=False if args.quiet else None,
        batch_size=args.chunk_size,
        all_scores=args.all_scores,
        with_text=args.with_text,
        options=runtime_options(args),
    )
