"""Safety checks of a job that run before the model loads, and the input it has consumed.

* one writer per output: ``OUT.lock`` is held (``flock``) for the whole job;
* the input is never one of the job's own files (``OUT``, ``OUT.part``, ``OUT.state.json``...);
* a resumed job reads the rows it committed before and checks their content hash;
* repeated ids are counted (a warning, not an error: every row still gets its own output row).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from kontak_nlp.jobs._formats import Record
from kontak_nlp.jobs.locking import LockHeld, exclusive_lock
from kontak_nlp.jobs.state import InputHash, JobError, JobPaths, JobState, OutputError, output_error

logger = logging.getLogger(__name__)


def check_own_files(source: str | Path, paths: JobPaths) -> None:
    """Raise :class:`JobError` when the input is the output or one of the job's working files.

    Example:
        >>> check_own_files("news.jsonl.part", JobPaths.for_output("news.jsonl"))
        Traceback (most recent call last):
        ...
        kontak_nlp.jobs.state.JobError: news.jsonl.part: the input is a working file of the job writing news.jsonl; rename it or choose another output
    """  # noqa: E501
    if str(source) == "-":
        return
    given = Path(source).resolve()
    for own in paths.own_files():
        if given == own.resolve():
            if own == paths.final:
                raise JobError(f"{paths.final}: the output would overwrite the input")
            raise JobError(
                f"{source}: the input is a working file of the job writing {paths.final}; "
                "rename it or choose another output"
            )


def hold_output_lock(stack: contextlib.ExitStack, paths: JobPaths) -> None:
    """Take ``OUT.lock`` for the rest of ``stack``; :class:`JobError` naming the holder if it is taken.

    Example:
        >>> with contextlib.ExitStack() as stack:  # doctest: +SKIP
        ...     hold_output_lock(stack, JobPaths.for_output("out.jsonl"))
    """
    if not paths.final.parent.is_dir():
        raise OutputError(errno.ENOENT, f"{paths.final.parent}: the output directory does not exist")
    try:
        stack.enter_context(exclusive_lock(paths.lock))
    except LockHeld as err:
        raise JobError(
            f"{paths.final}: another job (PID {err.holder or 'unknown'}) is writing this output "
            f"(it holds {paths.lock.name}); wait for it to finish or choose another output"
        ) from err
    except OSError as err:
        raise output_error(err, paths.lock, resumable=False) from err


class InputTracker:
    """Follows the rows a job consumes: their running content hash and repeated ids.

    Ids are kept as 8-byte hashes (8 bytes per row), so that millions of rows stay cheap.

    Example:
        >>> tracker = InputTracker(has_ids=True)
        >>> tracker.add([Record(0, "a", "x"), Record(1, "b", "x")])
        >>> tracker.repeated_ids()
        1
    """

    def __init__(self, has_ids: bool) -> None:
        self.hash = InputHash()
        self.rows = 0
        self.has_ids = has_ids
        self._ids: list[np.ndarray] = []

    def add(self, records: list[Record]) -> None:
        """Account for ``records``, in input order."""
        for record in records:
            self.hash.update(record.text, record.id, record.problem)
        self.rows += len(records)
        if self.has_ids:
            keys = [_id_key(r.id) for r in records if r.id is not None]
            self._ids.append(np.asarray(keys, dtype=np.int64))

    def repeated_ids(self) -> int:
        """How many rows have an id that an earlier row already had."""
        if not self._ids:
            return 0
        keys = np.concatenate(self._ids)
        return int(len(keys) - len(np.unique(keys)))


def _id_key(value: Any) -> int:
    try:
        return hash((type(value).__name__, value))
    except TypeError:  # a JSON object or list
        return hash(json.dumps(value, sort_keys=True, default=repr))


def skip_committed(records: Iterator[Record], state: JobState, tracker: InputTracker, where: Path) -> None:
    """Read the ``state.rows_in`` rows an interrupted job committed and check that they are the same.

    Raises:
        JobError: The input is shorter, or its first rows differ from those committed (content hash).
    """
    batch: list[Record] = []
    for _ in range(state.rows_in):
        record = next(records, None)
        if record is None:
            break
        batch.append(record)
        if len(batch) >= 4096:
            tracker.add(batch)
            batch = []
    tracker.add(batch)
    if tracker.rows < state.rows_in:
        raise JobError(
            f"{where}: cannot resume: the input has {tracker.rows} rows, but the interrupted job had "
            f"already committed {state.rows_in}; run again with the same input, or start over with --force"
        )
    if tracker.hash.hexdigest() != state.input_sha256:
        raise JobError(
            f"{where}: cannot resume: the first {state.rows_in} input rows are not those the interrupted "
            "job committed (their content hash differs); run again with the same input, or start over "
            "with --force"
        )
