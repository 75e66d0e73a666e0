"""Run batch jobs: stream the input in chunks, classify, commit each chunk exactly once.

:func:`iter_predictions` is the in-memory streaming API (like spaCy's ``nlp.pipe``);
:func:`run_job` is what ``kontak-nlp classify`` calls: files in, files out, resumable.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from kontak_nlp.errors import InputError
from kontak_nlp.inference.predictor import PredictorBase
from kontak_nlp.inference.texts import describe_bad_text
from kontak_nlp.jobs._formats import Reader, Record
from kontak_nlp.jobs._guards import InputTracker, check_own_files, hold_output_lock, skip_committed
from kontak_nlp.jobs._settings import (
    model_key,
    model_labels,
    row_options,
    settings_after_load,
    settings_before_load,
)
from kontak_nlp.jobs.config import JobConfig, JobSummary
from kontak_nlp.jobs.readers import open_reader
from kontak_nlp.jobs.rows import ChunkResult, article_rows, proba_fn_of, segment_record, sentence_rows
from kontak_nlp.jobs.state import (
    InputHash,
    JobError,
    JobPaths,
    JobState,
    check_resumable,
    check_settings,
    fingerprint,
    fsync_dir,
    load_state,
    remove_leftovers,
    save_state,
)
from kontak_nlp.jobs.writers import Writer, open_writer
from kontak_nlp.schema import Prediction

logger = logging.getLogger(__name__)


def iter_predictions(
    texts: Iterable[str], model: Any = None, *, chunk_size: int = 2048, batch_size: int | None = None
) -> Iterator[Prediction]:
    """Classify a stream of texts lazily, ``chunk_size`` at a time, yielding predictions in order.

    Only one chunk is in memory at once, so ``texts`` may be a generator over a huge file.
    Within each chunk, texts are length-sorted into batches and the input order is restored.

    Args:
        texts: Any iterable of strings.
        model: A loaded model (torch :class:`~kontak_nlp.Classifier` or ONNX), or a model directory,
            ``"default"``/None (loaded with :func:`kontak_nlp.load`).
        chunk_size: Texts per chunk.
        batch_size: Texts per forward pass (None: the model's option).

    Raises:
        InputError: A text is not a string, has an unpaired surrogate or is rejected by the
            tokenizer; the message and ``position`` give its position in the stream.

    Example:
        >>> from kontak_nlp.jobs import iter_predictions
        >>> lines = (line.rstrip("\\n") for line in open("news.txt", encoding="utf-8"))  # doctest: +SKIP
        >>> for p in iter_predictions(lines, "runs/news4"):  # doctest: +SKIP
        ...     print(p.label, p.score)
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    from kontak_nlp.api import load

    model = load(model)
    iterator, offset = iter(texts), 0
    while chunk := list(itertools.islice(iterator, chunk_size)):
        for i, text in enumerate(chunk):
            problem = describe_bad_text(text)
            if problem:
                raise InputError(f"texts at position {offset + i} {problem}", position=offset + i)
        try:
            yield from model.classify(chunk, batch_size=batch_size, show_progress_bar=False)
        except InputError as err:
            if err.position is None:
                raise
            at = offset + err.position
            detail = str(err).split(": ", 1)[-1]
            raise InputError(f"texts at position {at}: {detail}", position=at) from err
        offset += len(chunk)


class _TruncationOnce(logging.Filter):
    """Let the first per-chunk "truncated" warning through, count the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "truncated" not in record.getMessage():
            return True
        if self.seen:
            self.hidden += 1
            return False
        self.seen = True
        return True


def _prepare_output(config: JobConfig, paths: JobPaths | None) -> JobState | None:
    """Apply the overwrite/resume rules; return the saved state to resume from, if any."""
    if paths is None:
        return None
    if config.resume and paths.state.exists():
        return load_state(paths.state)
    if paths.state.exists() and not config.force:
        return None  # an interrupted job's leftovers: see _check_leftovers, once the input is known
    if paths.final.exists() and not config.force:
        raise JobError(f"{paths.final}: output file exists; pass --force to overwrite it")
    if config.resume:
        logger.info("no interrupted job found for %s; starting from the beginning", paths.final)
    return None


def _check_leftovers(paths: JobPaths, settings: dict) -> None:
    """Leftovers of an interrupted job, found without ``--resume``: refused when that job read the
    same input (it may be worth resuming), discarded with a warning when the input has changed since
    (a failed run whose input was then corrected does not block the fresh run)."""
    saved = load_state(paths.state)
    same_input = saved.settings.get("input") == settings["input"] or settings["input"].get("input") == "-"
    if same_input:
        raise JobError(
            f"{paths.final}: an interrupted job left {paths.state.name}; run again with --resume to "
            "continue it, or with --force to start over"
        )
    logger.warning(
        "%s: the interrupted job that left %s read a different version of the input; starting over "
        "(its partial output is discarded)",
        paths.final,
        paths.state.name,
    )


def _begin(writer: Writer, paths: JobPaths | None, state: JobState | None, settings: dict) -> JobState:
    expected = fingerprint(settings)
    if paths is None:
        writer.start()
        return JobState(fingerprint=expected, settings=settings, input_sha256=InputHash().hexdigest())
    if state is not None:
        check_resumable(state, expected, settings, paths.state)
        writer.resume(state.position)
        logger.info("resuming %s at input row %d", paths.final, state.rows_in)
        return state
    remove_leftovers(paths)
    writer.start()
    state = JobState(fingerprint=expected, settings=settings, position=writer.position)
    state.input_sha256 = InputHash().hexdigest()
    save_state(paths.state, state)
    return state


def _chunks(records: Iterator[Record], config: JobConfig) -> Iterator[list[Any]]:
    """Group records into chunks: ``chunk_size`` rows, or in article mode whole articles adding up
    to at least ``chunk_size`` units. Deterministic, so a resumed job cuts the same chunks."""
    if not config.articles:
        while chunk := list(itertools.islice(records, config.chunk_size)):
            yield chunk
        return
    chunk, weight = [], 0
    for record in records:
        item, units = segment_record(record)
        chunk.append(item)
        weight += units
        if weight >= config.chunk_size:
            yield chunk
            chunk, weight = [], 0
    if chunk:
        yield chunk


def _commit(
    result: ChunkResult, writer: Writer, state: JobState, paths: JobPaths | None, tracker: InputTracker
) -> None:
    state.position = writer.write_chunk(result.rows)
    state.input_sha256 = tracker.hash.hexdigest()
    state.rows_in += result.read
    state.rows_written += result.written
    state.rows_errored += result.errored
    state.units_written += len(result.rows)
    state.boilerplate_rows += result.boilerplate
    state.chunks += 1
    if paths is not None:
        save_state(paths.state, state)


def _progress(config: JobConfig, reader: Reader, initial: int) -> Any:
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if config.progress is None else config.progress
    total = reader.estimate_total() if show else None
    unit = " articles" if config.articles else " rows"
    return tqdm(total=total, initial=initial, unit=unit, disable=not show, file=sys.stderr, mininterval=0.5)


def _finish(writer: Writer, paths: JobPaths | None, state: JobState) -> None:
    writer.prepare_final()
    if paths is None:
        return
    state.phase = "finalizing"
    save_state(paths.state, state)
    writer.publish()
    writer.cleanup()
    paths.state.unlink()


def _complete_finalizing(paths: JobPaths, state: JobState) -> bool:
    """Finish a job killed while publishing its output; False if it was not that far."""
    if state.phase != "finalizing":
        return False
    if paths.part.exists():
        import os

        os.replace(paths.part, paths.final)
        fsync_dir(paths.final.parent)
    elif not paths.final.exists():
        return False
    remove_leftovers(paths)
    return True


def _rechecked_so_far(model: Any) -> int | None:
    if not getattr(model, "rechecks_near_ties", False):
        return None
    return model.recheck_stats.rechecked if model.recheck_stats else 0


def _summary(
    config: JobConfig,
    state: JobState,
    started: float,
    resumed_from: int,
    precision: str,
    rechecked: int | None = None,
) -> JobSummary:
    return JobSummary(
        rows_read=state.rows_in,
        rows_written=state.rows_written,
        rows_errored=state.rows_errored,
        seconds=time.perf_counter() - started,
        output=str(config.output) if config.output else None,
        articles=config.articles,
        units_written=state.units_written,
        boilerplate_rows=state.boilerplate_rows,
        resumed_from=resumed_from,
        rows_this_run=state.rows_in - resumed_from,
        backend=config.options.backend,
        precision=precision,
        on_error=config.on_error,
        rechecked=rechecked,
    )


def _load(config: JobConfig, model: Any) -> tuple[Any, str]:
    if model is None:
        from kontak_nlp.inference.loader import load_model

        model = load_model(config.model, config.options)
    return model, getattr(model, "precision", "fp32")  # a duck-typed model may not say


def run_job(config: JobConfig, *, model: Any = None) -> JobSummary:
    """Classify ``config.input`` into ``config.output`` chunk by chunk, resumable after any crash.

    ``summary.seconds`` is the wall time of this call, model loading included.

    Every chunk is written, flushed and fsync'd, then recorded in ``OUTPUT.state.json``; the
    final file appears by an atomic rename. After a crash (even ``kill -9``) the same call with
    ``resume=True`` produces exactly the output of an uninterrupted run. One job at a time may
    write an output (``OUTPUT.lock``). Everything that can be checked without the model (output
    path, lock, saved state, model directory and labels, input columns, the rows a resumed job
    committed) is checked before the model loads.

    Args:
        config: The job.
        model: An already loaded model (torch or ONNX); None loads ``config.model`` with
            ``config.options`` (:func:`kontak_nlp.inference.load_model`).

    Raises:
        InputError: A bad row with ``on_error="raise"`` (the message names the row).
        DataError: Unreadable input or missing column. ModelLoadError: the model cannot load.
        JobError: The output exists (without ``force``), another job is writing it, or the saved
            state (settings or committed input rows) does not match.
        OSError: Writing failed (e.g. disk full).

    Example:
        >>> from kontak_nlp.jobs import JobConfig, run_job
        >>> summary = run_job(JobConfig("news.jsonl", "labels.parquet", on_error="skip"))  # doctest: +SKIP
        >>> summary.rows_written  # doctest: +SKIP
        120000
    """
    started = time.perf_counter()
    paths = JobPaths.for_output(config.output) if config.output else None
    with contextlib.ExitStack() as stack:
        if paths is not None:
            if config.input is not None:
                check_own_files(config.input, paths)
            hold_output_lock(stack, paths)
        state = _prepare_output(config, paths)
        if paths is not None and state is not None and _complete_finalizing(paths, state):
            logger.info("%s was already complete; removed the leftover state", paths.final)
            return _finished(_summary(config, state, started, state.rows_in, "-"))
        labels = model_labels(config, model)
        reader = stack.enter_context(contextlib.closing(_open(config)))
        options = row_options(config, reader, labels)
        settings = settings_before_load(config, reader, model_key(config, model), options)
        tracker = InputTracker(reader.has_ids)
        records = iter(reader)
        if paths is not None and state is not None:
            check_settings(state, settings if labels is not None else _no_columns(settings), paths.state)
            skip_committed(records, state, tracker, paths.state)
        elif paths is not None and not config.force and paths.state.exists():
            _check_leftovers(paths, settings)
        loaded = _load(config, model)
        return _run(config, (reader, records, tracker), loaded, paths, state, settings, started)
    raise AssertionError("unreachable")  # pragma: no cover


def _no_columns(settings: dict) -> dict:
    return {key: value for key, value in settings.items() if key != "columns"}


def _open(config: JobConfig) -> Reader:
    return open_reader(
        config.input,
        input_format=config.input_format,
        text_column=config.text_column,
        id_column=config.id_column,
        articles=config.articles,
        chunk_size=config.chunk_size,
        urls=config.urls,
        fetch_config=config.fetch,
    )


def _finished(summary: JobSummary) -> JobSummary:
    summary.complete = True
    return summary


def _run(
    config: JobConfig,
    source: tuple[Reader, Iterator[Record], InputTracker],
    loaded: tuple[Any, str],
    paths: JobPaths | None,
    state: JobState | None,
    settings: dict,
    started: float,
) -> JobSummary:
    (reader, records, tracker), (model, precision) = source, loaded
    options = row_options(config, reader, model.labels)
    writer = open_writer(config.output, config.output_format, options.columns(), raw_csv=config.raw_csv)
    settings = {**settings, **settings_after_load(config, model, precision, options)}
    state = _begin(writer, paths, state, settings)
    resumed_from = state.rows_in
    build = article_rows if config.articles else sentence_rows
    rechecked_before = _rechecked_so_far(model)

    def summary() -> JobSummary:
        now = _rechecked_so_far(model)
        rechecked = None if now is None or rechecked_before is None else now - rechecked_before
        result = _summary(config, state, started, resumed_from, precision, rechecked)
        result.duplicate_ids = tracker.repeated_ids()
        result.blank_lines = getattr(reader, "blank_lines", 0)
        return result

    proba = proba_fn_of(model, config.options.batch_size)

    quiet = _TruncationOnce()
    logging.getLogger(PredictorBase.__module__).addFilter(quiet)
    bar = _progress(config, reader, resumed_from)
    try:
        for chunk in _chunks(records, config):
            tracker.add([item[0] for item in chunk] if config.articles else chunk)
            result = build(chunk, proba, options)
            _commit(result, writer, state, paths, tracker)
            bar.update(result.read)
        _finish(writer, paths, state)
    except BaseException as err:
        _close_quietly(writer)
        err.job_summary = summary()  # type: ignore[attr-defined]
        raise
    finally:
        bar.close()
        logging.getLogger(PredictorBase.__module__).removeFilter(quiet)
    if quiet.hidden:
        logger.warning("%d more chunk(s) had texts truncated at the model's token limit", quiet.hidden)
    done = summary()
    if done.duplicate_ids:
        logger.warning(
            "%d input row(s) repeat an id that an earlier row already had; each still has its own "
            "output row (tell them apart by the row number)",
            done.duplicate_ids,
        )
    return _finished(done)


def _close_quietly(writer: Writer) -> None:
    """Close the writer after an error without hiding that error (closing may fail again: disk full)."""
    try:
        writer.close()
    except OSError as err:
        logger.debug("closing the output after an error failed too: %s", err)
