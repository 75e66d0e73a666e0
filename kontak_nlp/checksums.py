"""Checksums of directories (model directories, the converted backbone): written on save, verified on load.

``checksums.json`` lists ``{"files": {name: {"sha256": ..., "size": ...}}}`` plus any extra fields a
writer adds (the backbone records its source file and converter version). With ``cached=True``
hashes are kept per process, keyed by path, size and mtime, and recorded across processes in the
cache directory (keyed by size, mtime, ctime and inode), so verifying a large directory on every load
is cheap (the backbone cache does this).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kontak_nlp.errors import ModelLoadError

CHECKSUM_FILE = "checksums.json"
_CHUNK = 1 << 20
_CACHE: dict[tuple[str, int, int], str] = {}  # (resolved path, mtime_ns, size) -> sha256
_SETTLED_NS = 2_000_000_000  # a file unchanged this long has a hash worth recording


def sha256_file(path: Path, *, cached: bool = False) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks; ``cached`` reuses this process's earlier hash of
    the same path, size and mtime, or one an earlier process recorded (see :func:`_recorded`).

    Example:
        >>> len(sha256_file(Path("pyproject.toml")))  # doctest: +SKIP
        64
    """
    if not cached:
        return _hash_file(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
        _CACHE[key] = _recorded(key[0], stamp) or _hash_and_record(path, key[0], stamp)
    return _CACHE[key]


def cache_home() -> Path:
    """The kontak_nlp cache directory: ``$KONTAK_NLP_HOME``, else the user cache dir.

    Example:
        >>> cache_home().name  # doctest: +SKIP
        'kontak_nlp'
    """
    root = os.environ.get("KONTAK_NLP_HOME")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("kontak_nlp")
    return Path(root).expanduser()


def record_file() -> Path:
    """Where hashes are recorded across processes: ``sha256.json`` in the kontak_nlp cache dir."""
    return cache_home() / "sha256.json"


def _recorded(name: str, stamp: list[int]) -> str | None:
    """The hash an earlier process recorded for this exact file state, or None.

    Hashing the 465 MB backbone costs seconds per process. A recorded hash is reused only when the
    file's size, mtime, ctime and inode are unchanged; ctime moves on every write and cannot be set
    back by tools (``touch``, ``cp -p``), so a damaged file is hashed again. Hashes are recorded only
    for files unchanged for :data:`_SETTLED_NS`, so a write within the same timestamp tick as the
    recording (the "racy" case) cannot go unnoticed.
    """
    try:
        entry = json.loads(record_file().read_text(encoding="utf-8")).get(name)
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("sha256"), str):
        return entry["sha256"]
    return None


def _hash_and_record(path: Path, name: str, stamp: list[int]) -> str:
    digest = _hash_file(path)
    if time.time_ns() - max(stamp[1], stamp[2]) < _SETTLED_NS:
        return digest
    target = record_file()
    try:
        try:
            table = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            table = {}
        table = table if isinstance(table, dict) else {}
        table[name] = {"stamp": stamp, "sha256": digest}
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(table, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:  # a read-only cache: hash again next time
        pass
    return digest


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def clear_cache() -> None:
    """Forget the cached hashes (as a new process would)."""
    _CACHE.clear()


def write_checksums(
    directory: Path, names: Iterable[str] | None = None, *, cached: bool = False, **extra: Any
) -> Path:
    """Record the sha256 and size of ``names`` (default: every file directly in ``directory``).

    Sub-directories (training checkpoints, an ONNX cache) are not part of the model and are skipped.

    Example:
        >>> write_checksums(Path("runs/news4"))  # doctest: +SKIP
        PosixPath('runs/news4/checksums.json')
    """
    if names is None:
        names = [f.name for f in sorted(directory.iterdir()) if f.is_file() and f.name != CHECKSUM_FILE]
    entries = {}
    for name in names:
        file = directory / name
        entries[name] = {"sha256": sha256_file(file, cached=cached), "size": file.stat().st_size}
    target = directory / CHECKSUM_FILE
    payload = {"files": entries, **extra}
    target.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def verify_checksums(
    directory: Path, *, error: type[Exception] = ModelLoadError, required: bool = False, cached: bool = False
) -> dict[str, Any] | None:
    """Check every file listed in ``checksums.json``; raise ``error`` naming the first bad file.

    Returns the parsed listing. Without ``checksums.json`` the directory is accepted as is (a model
    saved by plain transformers) and None is returned, unless ``required``.

    Example:
        >>> verify_checksums(Path("runs/news4"))["files"]  # doctest: +SKIP
        {'config.json': {...}, ...}
    """
    listing = Path(directory) / CHECKSUM_FILE
    if not listing.exists():
        if required:
            raise error(f"{listing}: file is missing")
        return None
    try:
        record = json.loads(listing.read_text(encoding="utf-8"))
        entries = record["files"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise error(f"{listing}: unreadable checksum list ({err})") from err
    for name, meta in sorted(entries.items()):
        _check_file(Path(directory) / name, meta, error, cached)
    return record


def _check_file(file: Path, meta: dict[str, Any], error: type[Exception], cached: bool) -> None:
    if not file.exists():
        raise error(f"{file}: file is missing (listed in {CHECKSUM_FILE})")
    size = file.stat().st_size
    if size != meta["size"]:
        raise error(f"{file}: size {size} bytes, expected {meta['size']} (truncated or replaced?)")
    if sha256_file(file, cached=cached) != meta["sha256"]:
        raise error(f"{file}: sha256 does not match {CHECKSUM_FILE} (corrupted or modified)")
