"""The resume state of a job: a small JSON file, replaced atomically after every committed chunk.

Files of a job writing ``OUT`` (all in OUT's directory, so renames stay on one filesystem):

* ``OUT.part``: the output being written (JSONL/CSV: appended chunk by chunk; Parquet: the
  merged file, built at the end);
* ``OUT.parts/``: Parquet only, one ``part-NNNNNN.parquet`` per committed chunk;
* ``OUT.state.json``: this state. ``position`` is the committed size of ``OUT.part`` in bytes
  (JSONL/CSV) or the number of committed part files (Parquet); ``rows_in`` is the number of input
  rows consumed by committed chunks and ``input_sha256`` the running hash of their content;
* ``OUT.lock``: held (``flock``) by the one job writing ``OUT``, with its PID inside.

Commit order per chunk: write the chunk, flush, fsync; then write the state to a temporary file,
fsync it, rename it over the old state and fsync the directory. A kill between the two steps
leaves bytes (or a part) beyond ``position``; a resume truncates (or deletes) them and redoes that
chunk, so every chunk lands exactly once. The final ``OUT`` appears by one rename, after the
state has recorded ``phase="finalizing"``. A resume first reads the ``rows_in`` committed rows
again and checks their hash, so it never appends to the output of another input.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from kontak_nlp.errors import KontakError

logger = logging.getLogger(__name__)

STATE_VERSION = 2


class JobError(KontakError, ValueError):
    """A job cannot start: its output exists, or its saved state does not match (exit code 2)."""


class OutputError(OSError):
    """Writing the output failed (disk full, permission, ...); exit code 5. ``str()`` is the message."""

    def __str__(self) -> str:
        return str(self.strerror)


def output_error(err: OSError, path: Path | str, *, resumable: bool = True) -> OutputError:
    """Turn a raw ``OSError`` into an :class:`OutputError` with an actionable message.

    Example:
        >>> str(output_error(OSError(errno.ENOSPC, "No space left on device"), "o.csv"))[:50]
        'disk full while writing o.csv (No space left on de'
    """
    if isinstance(err, OutputError):
        return err
    reason = err.strerror or str(err)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        message = f"disk full while writing {path} ({reason})"
        message += "; free some space and run again with --resume" if resumable else ""
    else:
        message = f"cannot write {path} ({reason})"
    return OutputError(err.errno or errno.EIO, message)


@dataclass(frozen=True)
class JobPaths:
    """Where a job's final output, partial output, Parquet parts and state live.

    Example:
        >>> JobPaths.for_output("out/labels.jsonl").state.name
        'labels.jsonl.state.json'
    """

    final: Path
    part: Path
    parts_dir: Path
    state: Path
    lock: Path

    @classmethod
    def for_output(cls, output: str | Path) -> JobPaths:
        """The file layout of a job writing ``output``."""
        final = Path(output)
        return cls(
            final=final,
            part=final.with_name(final.name + ".part"),
            parts_dir=final.with_name(final.name + ".parts"),
            state=final.with_name(final.name + ".state.json"),
            lock=final.with_name(final.name + ".lock"),
        )

    def own_files(self) -> list[Path]:
        """Every file the job creates or deletes, the final output included (none may be the input)."""
        tmp = self.state.with_name(self.state.name + ".tmp")
        return [self.final, self.part, self.parts_dir, self.state, tmp, self.lock]

    def leftovers(self) -> list[Path]:
        """The job files (not the final output) that exist now."""
        return [p for p in (self.part, self.parts_dir, self.state) if p.exists()]


@dataclass
class JobState:
    """Progress of a job, as saved after each committed chunk.

    Attributes:
        fingerprint: Hash of everything that shapes the output (input identity, model checksum,
            backend, precision, columns, chunk and batch sizes...).
        settings: The same values in readable form, to explain a mismatch.
        rows_in: Input rows consumed by committed chunks.
        input_sha256: Running sha256 of the content of those rows (see :class:`InputHash`).
        position: Committed bytes of ``OUT.part`` (JSONL/CSV) or committed part files (Parquet).
        phase: ``"running"`` or ``"finalizing"`` (the rename to the final name has begun).
    """

    fingerprint: str
    settings: dict[str, Any] = field(default_factory=dict)
    rows_in: int = 0
    input_sha256: str = ""
    rows_written: int = 0
    rows_errored: int = 0
    units_written: int = 0
    boilerplate_rows: int = 0
    position: int = 0
    chunks: int = 0
    phase: str = "running"
    version: int = STATE_VERSION
    updated_at: float = 0.0


def fingerprint(settings: dict[str, Any]) -> str:
    """A stable sha256 of JSON-serialisable ``settings``.

    Example:
        >>> fingerprint({"a": 1}) == fingerprint({"a": 1})
        True
    """
    blob = json.dumps(settings, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def fsync_dir(directory: Path) -> None:
    """fsync a directory so that a rename inside it survives a crash (no-op where unsupported).

    Example:
        >>> fsync_dir(Path("."))
    """
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a fsync'd temporary file and a rename.

    Example:
        >>> write_atomic(Path("state.json"), b"{}")  # doctest: +SKIP
    """
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def save_state(path: Path, state: JobState) -> None:
    """Atomically replace the state file with ``state``; :class:`OutputError` if that fails.

    Example:
        >>> save_state(Path("out.jsonl.state.json"), JobState(fingerprint="ab12"))  # doctest: +SKIP
    """
    state.updated_at = time.time()
    try:
        write_atomic(path, (json.dumps(asdict(state), indent=1, sort_keys=True) + "\n").encode("utf-8"))
    except OSError as err:
        raise output_error(err, path) from err


def load_state(path: Path) -> JobState:
    """Read a state file; :class:`JobError` if it is unreadable or from another version.

    Example:
        >>> load_state(Path("out.jsonl.state.json")).rows_in  # doctest: +SKIP
        4096
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(JobState)}
        state = JobState(**{k: v for k, v in raw.items() if k in known})
    except (ValueError, TypeError, UnicodeDecodeError) as err:
        raise JobError(f"{path}: unreadable job state ({err}); start over with --force") from err
    if state.version != STATE_VERSION:
        raise JobError(f"{path}: job state version {state.version} is not supported; start over with --force")
    return state


def check_resumable(state: JobState, expected: str, settings: dict[str, Any], path: Path) -> None:
    """Raise :class:`JobError` naming the settings that changed since the interrupted run.

    Example:
        >>> saved = JobState(fingerprint=fingerprint({"chunk_size": 10}), settings={"chunk_size": 10})
        >>> now = {"chunk_size": 20}
        >>> check_resumable(saved, fingerprint(now), now, Path("s"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        kontak_nlp.jobs.state.JobError: s: cannot resume, the job changed since it was interrupted ...
    """
    if state.fingerprint == expected:
        return
    changed = [
        f"{key}: was {state.settings.get(key)!r}, now {value!r}"
        for key, value in settings.items()
        if state.settings.get(key) != value
    ]
    detail = "; ".join(changed) or "settings differ"
    raise JobError(
        f"{path}: cannot resume, the job changed since it was interrupted ({detail}). "
        "Run again with the same input and options, or start over with --force"
    )


def check_settings(state: JobState, settings: dict[str, Any], path: Path) -> None:
    """Like :func:`check_resumable`, for the ``settings`` known before the model loads.

    Example:
        >>> check_settings(JobState("ab", {"chunk_size": 10}), {"chunk_size": 10}, Path("s"))
    """
    if any(state.settings.get(key) != value for key, value in settings.items()):
        check_resumable(state, "", settings, path)


class InputHash:
    """Running sha256 of the rows a job consumed: their text, id and read problem, in order.

    It is the same for the same rows whatever the input format, file name or chunking, and it
    works for stdin, which cannot be fingerprinted up front.

    Example:
        >>> a, b = InputHash(), InputHash()
        >>> a.update("Halo.", "s1", None); b.update("Halo.", "s1", None)
        >>> a.hexdigest() == b.hexdigest() != InputHash().hexdigest()
        True
    """

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def update(self, text: Any, item_id: Any, problem: str | None) -> None:
        """Add one row (any JSON-like values; ``ensure_ascii`` keeps lone surrogates hashable)."""
        blob = json.dumps([text, item_id, problem], ensure_ascii=True, sort_keys=True, default=repr)
        self._digest.update(blob.encode("ascii") + b"\n")

    def hexdigest(self) -> str:
        """The hash of the rows so far."""
        return self._digest.hexdigest()


def remove_leftovers(paths: JobPaths) -> None:
    """Delete a job's partial output, parts and state (the final output is left alone).

    Example:
        >>> remove_leftovers(JobPaths.for_output("out.jsonl"))  # doctest: +SKIP
    """
    import shutil

    for leftover in paths.leftovers():
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    tmp = paths.state.with_name(paths.state.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
