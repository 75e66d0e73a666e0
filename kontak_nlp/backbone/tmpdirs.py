"""Temporary directories that name their writer, so that a later run can remove those of dead writers.

A cache entry (the converted backbone) is built in ``.<name>.tmp-<host>-<pid>-<random>`` and renamed
into place; a damaged entry is renamed to ``.<name>.bad-<host>-<pid>-<random>`` before it is rebuilt.
A process killed meanwhile leaves that directory behind; :func:`remove_stale` deletes it on the next
run, once its process is gone.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)


def owner_tag() -> str:
    """``<host>-<pid>``: temporary directories name the process that writes them.

    Example:
        >>> owner_tag().endswith(f"-{os.getpid()}")
        True
    """
    host = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"
    return f"{host}-{os.getpid()}"


def move_aside(target: Path, error: type[Exception]) -> None:
    """Rename a damaged ``target`` out of the way (atomically: one process wins), then delete it."""
    aside = target.with_name(f".{target.name}.bad-{owner_tag()}-{os.urandom(4).hex()}")
    try:
        os.rename(target, aside)
    except FileNotFoundError:
        return  # another process moved it first
    except OSError as err:
        raise error(f"{target}: damaged, and cannot be moved aside to rebuild it ({err})") from err
    shutil.rmtree(aside, ignore_errors=True)


def publish(target: Path, fill: Callable[[Path], None]) -> bool:
    """Build the cache directory ``target`` with ``fill(tmp)`` in a temporary sibling, then rename it
    into place: readers never see a partial entry, and of racing writers one wins. An entry already
    there (damaged or outdated: the caller found it unusable) is moved aside first. False when the
    cache cannot be written (read-only, full): the caller goes on without it.

    Example:
        >>> write = lambda tmp: (tmp / "a.txt").write_text("a")
        >>> publish(Path("/tmp/kontak-demo/entry"), write)  # doctest: +SKIP
        True
    """
    tmp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{owner_tag()}-", dir=target.parent))
        fill(tmp)
        if target.exists():
            move_aside(target, OSError)
        os.rename(tmp, target)
        return True
    except OSError as err:  # read-only or full cache, another writer's entry in the way
        logger.debug("cache entry %s not written (%s)", target, err)
        return False
    except Exception as err:  # noqa: BLE001 - a cache that cannot be written must not fail the load
        logger.warning("cache entry %s not written (%s: %s)", target, type(err).__name__, err)
        return False
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


_STALE_AFTER_S = 3600  # a temporary directory that names no process is stale after an hour


def remove_stale(parent: Path, name: str) -> None:
    """Delete temporary or set-aside copies of ``name`` whose writer is no longer running.

    A directory named ``.<name>.tmp-<host>-<pid>-...`` (or ``.bad-``) from this host is stale when
    ``<pid>`` is gone; one from another host is left alone; one that names no process (older
    versions) is stale after an hour.

    Example:
        >>> remove_stale(Path("/nonexistent"), "multilingual-e5-small-q4-0123456789ab")
    """
    pattern = re.compile(rf"\.{re.escape(name)}\.(?:tmp|bad)-(?:(?P<host>[A-Za-z0-9._]+)-(?P<pid>\d+)-)?")
    host = owner_tag().rsplit("-", 1)[0]
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or not entry.is_dir():
            continue
        if match["pid"] is not None:
            stale = match["host"] == host and not _alive(int(match["pid"]))
        else:
            stale = _age_s(entry) > _STALE_AFTER_S
        if stale:
            logger.info("removing %s, left by a conversion that did not finish", entry)
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0
