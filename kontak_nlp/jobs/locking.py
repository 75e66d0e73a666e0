"""Exclusive OS file locks (``fcntl.flock``) with the holder's PID, for jobs and caches.

A lock is a file holding the PID of its holder. The kernel drops a ``flock`` when its holder dies
(even by ``kill -9``), so a lock file left by a killed process is simply locked again by the next
one: a stale lock never blocks anyone. The holder deletes the file before it lets go; a process
that opened the old file in the meantime notices (the path now names another inode, or none) and
tries again, so two processes can never both believe they hold the lock.

Locks are advisory and local to one machine (on NFS they work where the server supports locks).
On systems without ``fcntl`` (Windows) locking is skipped with a debug message.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)


class LockHeld(OSError):
    """Another live process holds the lock; ``holder`` is its PID (None when unknown)."""

    def __init__(self, path: Path, holder: int | None) -> None:
        super().__init__(errno.EWOULDBLOCK, f"{path} is locked by PID {holder or 'unknown'}")
        self.path, self.holder = path, holder


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(raw) if raw.isdigit() else None


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _acquire(path: Path, blocking: bool) -> int:
    import fcntl

    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise LockHeld(path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            return fd
        os.close(fd)  # the previous holder removed this file after we opened it: try again


@contextlib.contextmanager
def exclusive_lock(path: str | Path, *, blocking: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the ``with`` block.

    Raises:
        LockHeld: ``blocking=False`` and another live process holds the lock.
        OSError: The lock file cannot be created (e.g. its directory does not exist).

    Example:
        >>> with exclusive_lock("/tmp/kontak-doc.lock"):
        ...     pass
    """
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - Windows
        logger.debug("no fcntl on this system: %s is not locked", path)
        yield
        return
    lock = Path(path)
    fd = _acquire(lock, blocking)
    previous = _read_pid(fd)
    if previous and previous != os.getpid():
        logger.info("%s: taking over the lock left by PID %d, which has ended", lock, previous)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)
