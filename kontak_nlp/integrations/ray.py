"""Batch inference on Ray Data: the ``kontak-nlp classify`` job spread over CPU or GPU workers.

:class:`KontakPredictor` is a callable class for ``ray.data.Dataset.map_batches`` (one model per
actor), :func:`explode_articles` turns article rows into sentence rows with offsets, and
:func:`classify_dataset` chains them. :func:`run_ray_job` reads Parquet/JSONL files or directories,
classifies them on a local Ray instance or a cluster and writes a directory of Parquet/JSONL files
with the rows of the single-process job (built by the same :mod:`kontak_nlp.jobs.rows` code).

Ray is imported when a function runs, never when this module is imported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kontak_nlp._recheck import DEFAULT_RECHECK_MARGIN
from kontak_nlp.errors import InputError, KontakError
from kontak_nlp.integrations import _ray_io
from kontak_nlp.integrations._ray_io import PROBLEM, arrow_table, columns_of
from kontak_nlp.jobs.readers import Record, text_problem
from kontak_nlp.jobs.rows import RowOptions, sentence_rows

if TYPE_CHECKING:  # pragma: no cover
    import argparse

    import ray.data

    from kontak_nlp.jobs import JobSummary

__all__ = ["KontakPredictor", "classify_dataset", "explode_articles", "run_from_args", "run_ray_job"]

logger = logging.getLogger(__name__)

_KONTAK_ERROR = re.compile(r"^kontak_nlp\.errors\.(\w+): (.+)$", re.MULTILINE)

_UNIT_COLUMNS = [
    ("article_id", "infer"), ("sentence_index", "int"), ("start", "int"), ("end", "int"),
    ("paragraph", "int"), ("boilerplate", "bool"), ("reason", "str"), ("text", "str"), ("error", "str"),
]  # fmt: skip


def _import_ray() -> Any:
    """The ``ray`` package (with Ray Data), or an ImportError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise ImportError(
            "kontak_nlp.integrations.ray needs Ray Data; install it with: pip install 'kontak-nlp[ray]'"
        ) from err
    return ray


def _output_columns(options: RowOptions, has_row: bool) -> list[tuple[str, str]]:
    """The job's output columns (:meth:`RowOptions.columns`); ids keep their input type."""
    ids = {"id", "article_id"} if options.has_ids else {"id"}
    simple = ("int", "float", "str", "bool")
    return [
        (c.name, "infer" if c.name in ids or c.kind not in simple else c.kind)
        for c in options.columns()
        if has_row or c.name != "row"
    ]


def _bad_row(record: Record, problem: str) -> InputError:
    return InputError(
        f"input row {record.row} ({record.where}): {problem}; "
        "use --on-error skip or --on-error mark to continue past bad rows"
    )


def _records(cols: dict[str, list[Any]], text: str, ids: str | None, rows: str | None) -> list[Record]:
    size = len(cols[text])
    numbers = cols[rows] if rows else range(size)
    id_values = cols[ids] if ids else [None] * size
    problems = cols.get(PROBLEM) or [None] * size
    return [
        Record(n, t, i, f"row {n}" if rows else f"id {i!r}" if ids else f"batch row {n}", p)
        for n, t, i, p in zip(numbers, cols[text], id_values, problems)
    ]


# --------------------------------------------------------------------------- map_batches UDFs
def explode_articles(
    batch: Any,
    *,
    text_column: str = "text",
    id_column: str | None = None,
    row_column: str | None = None,
    on_error: str = "raise",
) -> Any:
    """One output row per unit (sentence or boilerplate) of each article, with character offsets.

    A ``map_batches`` function: article rows in, a pyarrow Table of units out (columns
    ``article_id, sentence_index, start, end, paragraph, boilerplate, reason, text, error``).
    ``article_id`` is the id column, else the row column. Bad articles follow ``on_error``.

    Example:
        >>> units = ds.map_batches(explode_articles, fn_kwargs={"row_column": "row"})  # doctest: +SKIP
    """
    from kontak_nlp.segment import segment

    cols = columns_of(batch)
    units: list[dict[str, Any]] = []
    for record in _records(cols, text_column, id_column, row_column):
        article_id = record.id if id_column else record.row
        problem = text_problem(record)
        if problem and on_error == "raise":
            raise _bad_row(record, problem)
        if problem:
            if on_error == "mark":
                text = record.text if isinstance(record.text, str) else None
                units.append({"article_id": article_id, "text": text, "error": problem})
            continue
        for unit in segment(record.text).units:
            units.append({"article_id": article_id, "sentence_index": unit.index, "start": unit.start,
                          "end": unit.end, "paragraph": unit.paragraph, "boilerplate": unit.boilerplate,
                          "reason": unit.reason, "text": unit.text})  # fmt: skip
    return arrow_table(units, _UNIT_COLUMNS)


class KontakPredictor:
    """Callable class for ``map_batches``: loads the model once per actor, classifies each batch.

    Output rows are those of ``kontak-nlp classify`` (see :mod:`kontak_nlp.jobs.rows`): ``id`` (with
    ``id_column``), ``row`` (with ``row_column``), ``label``, ``score`` (+ ``score_<label>``, ``text``,
    ``error``). With ``articles=True`` the input is :func:`explode_articles` output.

    Args:
        model: Model directory or hub id (None: the shipped default model), or a loaded model.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (None: ``"auto"``).
        inference_batch_size: Texts per forward pass. The other arguments are those of
            :class:`~kontak_nlp.jobs.JobConfig`.

    Example:
        >>> ds.map_batches(KontakPredictor, fn_constructor_kwargs={"model": "runs/news4"},  # doctest: +SKIP
        ...                batch_size=256, concurrency=2, batch_format="pandas")
    """

    def __init__(
        self, model: Any = None, *, text_column: str = "text", id_column: str | None = None,
        row_column: str | None = None, articles: bool = False, on_error: str = "raise",
        all_scores: bool = False, with_text: bool = False, inference_batch_size: int = 32,
        device: str | None = None, precision: str = "auto", backend: str = "torch",
        quantize: str | None = None, recheck_margin: float = DEFAULT_RECHECK_MARGIN,
    ) -> None:  # fmt: skip
        if model is None or isinstance(model, (str, os.PathLike)):
            from kontak_nlp.backends import load_model

            device = device or "auto"
            model, _ = load_model(
                model, backend=backend, device=device, precision=precision, quantize=quantize,
                recheck_margin=recheck_margin,
            )  # fmt: skip
        self.model, self.text_column, self.row_column = model, text_column, row_column
        self.id_column, self.inference_batch_size = id_column, inference_batch_size
        self.options = RowOptions(
            labels=tuple(model.labels), on_error=on_error, articles=articles,
            has_ids=articles or id_column is not None, with_text=with_text, all_scores=all_scores,
        )  # fmt: skip
        self.columns = _output_columns(self.options, has_row=row_column is not None)

    def _proba(self, texts: list[str]) -> Any:
        return self.model.predict_proba(texts, batch_size=self.inference_batch_size, show_progress_bar=False)

    def __call__(self, batch: Any) -> Any:
        """Classify one batch; returns a pyarrow Table (Ray accepts it for any ``batch_format``)."""
        cols = columns_of(batch)
        if self.options.articles:
            return arrow_table(self._unit_rows(cols), self.columns)
        records = _records(cols, self.text_column, self.id_column, self.row_column)
        return arrow_table(sentence_rows(records, self._proba, self.options).rows, self.columns)

    def _unit_rows(self, cols: dict[str, list[Any]]) -> list[dict[str, Any]]:
        names = [name for name, _ in _UNIT_COLUMNS]
        rows = [dict(zip(names, values)) for values in zip(*(cols[name] for name in names))]
        todo = [i for i, row in enumerate(rows) if row["error"] is None and not row["boilerplate"]]
        plain = RowOptions(labels=self.options.labels, all_scores=self.options.all_scores)
        records = [Record(i, rows[i]["text"]) for i in todo]
        for i, prediction in zip(todo, sentence_rows(records, self._proba, plain).rows):
            rows[i].update({k: v for k, v in prediction.items() if k != "row"})
        return rows


def classify_dataset(
    ds: ray.data.Dataset, model: Any = None, *, text_column: str = "text", id_column: str | None = None,
    row_column: str | None = None, articles: bool = False, batch_size: int = 256,
    concurrency: int | tuple[int, int] = 1, num_cpus: float | None = None, num_gpus: float = 0,
    all_scores: bool = False, on_error: str = "raise", with_text: bool = False, batch_format: str = "pandas",
    **predictor_kwargs: Any,
) -> ray.data.Dataset:  # fmt: skip
    """Classify a Ray Dataset of sentences (or, with ``articles=True``, of articles); lazy.

    Args:
        ds: Rows with a ``text_column``, plus an ``id_column`` and/or a ``row_column`` (0-based input
            row numbers) that are copied into the output as ``id`` / ``row``.
        model: Model directory or hub id on every worker (None: the shipped default model).
        batch_size: Rows per ``map_batches`` call (texts are length-sorted within it).
        concurrency: Number of model actors, or ``(min, max)`` for an autoscaling pool.
        num_cpus: CPUs per actor (None: 1 for CPU actors, Ray's default for GPU actors).
        num_gpus: GPUs per actor (fractions share a GPU); ``device`` defaults to ``"cuda"`` when > 0,
            else ``"cpu"``.
        predictor_kwargs: ``inference_batch_size``, ``device``, ``precision``, ``backend``, ``quantize``,
            ``recheck_margin``.

    Returns:
        A Dataset with the rows of ``kontak-nlp classify``, in no particular order.

    Example:
        >>> import ray
        >>> ds = ray.data.read_parquet("s3://bucket/sentences/")  # doctest: +SKIP
        >>> out = classify_dataset(ds, "runs/news4", id_column="id", num_gpus=1)  # doctest: +SKIP
        >>> out.write_parquet("s3://bucket/labels/")  # doctest: +SKIP
    """
    _import_ray()
    if on_error not in ("raise", "skip", "mark"):
        raise ValueError(f"on_error must be raise, skip or mark, got {on_error!r}")
    if articles and not (id_column or row_column):
        raise ValueError("articles=True needs id_column or row_column to identify each article")
    if not (articles or id_column or row_column):
        logger.warning("no id_column or row_column: output rows cannot be matched to input rows")
    predictor_kwargs.setdefault("device", "cuda" if num_gpus else "cpu")
    columns = {"text_column": text_column, "id_column": id_column, "row_column": row_column}
    if articles:
        explode_kwargs = {**columns, "on_error": on_error}
        ds = ds.map_batches(explode_articles, batch_format=batch_format, fn_kwargs=explode_kwargs)
        columns = {"text_column": "text", "id_column": None, "row_column": None}
    resources: dict[str, float] = {"num_gpus": num_gpus} if num_gpus else {"num_cpus": num_cpus or 1}
    if num_gpus and num_cpus:
        resources["num_cpus"] = num_cpus
    constructor = {"model": model, **columns, "articles": articles, "on_error": on_error,
                   "all_scores": all_scores, "with_text": with_text, **predictor_kwargs}  # fmt: skip
    return ds.map_batches(
        KontakPredictor, fn_constructor_kwargs=constructor, batch_size=batch_size,
        batch_format=batch_format, compute=_actor_pool(concurrency), **resources,
    )  # fmt: skip


def _actor_pool(concurrency: int | tuple[int, int]) -> Any:
    """``ActorPoolStrategy`` for a fixed pool (``n``) or an autoscaling one (``(min, max)``)."""
    from ray.data import ActorPoolStrategy

    if isinstance(concurrency, tuple):
        return ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
    return ActorPoolStrategy(size=concurrency)


# --------------------------------------------------------------------------- files in, files out
@contextlib.contextmanager
def _ray_session(ray: Any, address: str | None) -> Iterator[None]:
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
def _kontak_errors() -> Iterator[None]:
    """Re-raise a Ray task failure caused by a kontak error as that error (exit codes as the CLI)."""
    try:
        yield
    except Exception as err:
        cause = _user_error(err)
        if cause is err:
            raise
        raise cause from err


def _summary(
    read: int, counts: dict[str, int], started: float, output: Any, *, articles: bool, on_error: str,
    backend: str = "torch", precision: str = "auto", **_: Any,
) -> JobSummary:  # fmt: skip
    from kontak_nlp.jobs import JobSummary

    written = counts["articles"] if articles else counts["units"]
    errored = read - written if on_error == "skip" else counts["errored"]
    return JobSummary(
        rows_read=read, rows_written=written, rows_errored=errored, seconds=time.perf_counter() - started,
        output=str(output), articles=articles, units_written=counts["units"],
        boilerplate_rows=counts["boilerplate"], rows_this_run=read, backend=backend,
        precision=precision, on_error=on_error, complete=True,
    )  # fmt: skip


def run_ray_job(
    input: str | Path, output: str | Path, *, model: str | Path | None = None, address: str | None = None,
    num_workers: int = 1, gpus_per_worker: float = 0.0, cpus_per_worker: float | None = None,
    text_column: str = "text", id_column: str | None = None, articles: bool = False,
    on_error: str = "raise", input_format: str | None = None, output_format: str | None = None,
    force: bool = False, progress: bool | None = None, **options: Any,
) -> JobSummary:  # fmt: skip
    """``kontak-nlp classify --engine ray``: Parquet/JSONL files in, a directory of part files out.

    Rows carry the single-process job's columns, ``row`` included (global input row number, over
    the sorted files of a directory). Files are written one per write task, then ``_SUCCESS``.

    Args:
        input: A ``.parquet``/``.jsonl`` file or a directory of them (local, shared or ``s3://``...).
        output: A directory; its format follows its suffix (``.parquet``/``.jsonl``) or the input's.
        address: None starts a local Ray (unless one is running), ``"auto"`` or ``"ray://host:10001"``.
        num_workers: Model actors. gpus_per_worker / cpus_per_worker: resources per actor.
        options: ``batch_size``, ``inference_batch_size``, ``all_scores``, ``with_text``, ``device``,
            ``precision``, ``backend``, ``quantize`` (see :func:`classify_dataset`).

    Raises:
        DataError, InputError, ModelLoadError, JobError: as ``kontak-nlp classify`` (unwrapped from Ray).

    Example:
        >>> from kontak_nlp.integrations.ray import run_ray_job
        >>> run_ray_job("news/", "labels.parquet", model="runs/news4", num_workers=4).line()  # doctest: +SKIP
        'kontak-nlp classify: 120000 rows read, 120000 written, 0 errored in 95.10 s (1262 rows/s) -> ...'
    """
    started = time.perf_counter()
    ray = _import_ray()
    in_fmt = _ray_io.detect_format(input, input_format)
    out_fmt = _ray_io.detect_format(output, output_format, default=in_fmt)
    out_fs, out_path = _ray_io.prepare_output(output, force)
    with _ray_session(ray, address), _kontak_errors():
        if progress is not None:
            ray.data.DataContext.get_current().enable_progress_bars = progress
        fs, slices, ids = _ray_io.plan_input(ray, input, in_fmt, text_column, id_column)
        ds = classify_dataset(
            _ray_io.read_dataset(ray, fs, slices, in_fmt, text_column, ids), model,
            id_column="id" if ids else None, row_column="row", articles=articles, concurrency=num_workers,
            num_gpus=gpus_per_worker, num_cpus=cpus_per_worker, on_error=on_error, **options,
        )  # fmt: skip
        _ray_io.write_output(ds, out_fs, out_path, output, out_fmt)
        counts = _ray_io.output_counts(ray, out_fs, out_path, out_fmt)
    read = sum(piece["rows"] for piece in slices)
    return _summary(read, counts, started, output, articles=articles, on_error=on_error, **options)


def run_from_args(args: argparse.Namespace) -> JobSummary:
    """Run ``kontak-nlp classify --engine ray`` from its parsed arguments.

    ``--chunk-size`` is the Ray batch (rows per actor call), ``--batch-size`` the forward pass,
    ``--num-threads`` the CPUs per actor.

    Example:
        >>> summary = run_from_args(parser.parse_args([...]))  # doctest: +SKIP
    """
    if args.input == "-" or not args.output:
        raise ValueError("--engine ray reads files and writes a directory: pass INPUT and -o OUTPUT")
    if args.resume:
        raise ValueError("--engine ray does not --resume: Ray retries failed tasks; rerun with --force")
    if args.quiet:
        logging.getLogger("kontak_nlp").setLevel(logging.WARNING)
    device = {} if args.device == "auto" else {"device": args.device}
    return run_ray_job(
        args.input, args.output, model=args.model, address=getattr(args, "address", None),
        num_workers=getattr(args, "num_workers", 1), gpus_per_worker=getattr(args, "gpus_per_worker", 0.0),
        cpus_per_worker=args.num_threads, text_column=args.text_column, id_column=args.id_column,
        articles=args.articles, on_error=args.on_error, input_format=args.input_format, force=args.force,
        progress=False if args.quiet else None, batch_size=args.chunk_size,
        inference_batch_size=args.batch_size, all_scores=args.all_scores, with_text=args.with_text,
        precision=args.precision, backend=args.backend, quantize=args.quantize,
        recheck_margin=args.recheck_margin, **device,
    )  # fmt: skip
