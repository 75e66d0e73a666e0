"""Checksums for model directories: written on save, verified on load."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kontak_nlp.errors import ModelLoadError

CHECKSUM_FILE = "checksums.json"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks.

    Example:
        >>> sha256_file(Path("pyproject.toml"))  # doctest: +SKIP
        '9f2c...'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_checksums(directory: Path) -> Path:
    """Record the sha256 and size of every file directly in ``directory`` in ``checksums.json``.

    Sub-directories (training checkpoints, an adapter copy) are not part of the model and are skipped.
    """
    entries = {}
    for file in sorted(directory.iterdir()):
        if file.is_file() and file.name != CHECKSUM_FILE:
            entries[file.name] = {"sha256": sha256_file(file), "size": file.stat().st_size}
    target = directory / CHECKSUM_FILE
    target.write_text(json.dumps({"files": entries}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def verify_checksums(directory: Path, error: type[Exception] = ModelLoadError) -> None:
    """Check every file listed in ``checksums.json``; raise ``error`` naming the first bad file.

    A directory without ``checksums.json`` is accepted as is (e.g. a model saved by plain transformers).
    """
    listing = directory / CHECKSUM_FILE
    if not listing.exists():
        return
    try:
        entries = json.loads(listing.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError) as err:
        raise error(f"{listing}: unreadable checksum list ({err})") from err
    for rel, meta in entries.items():
        file = directory / rel
        if not file.exists():
            raise error(f"{file}: file is missing (listed in {CHECKSUM_FILE})")
        size = file.stat().st_size
        if size != meta["size"]:
            raise error(f"{file}: size {size} bytes, expected {meta['size']} (truncated or replaced?)")
        if sha256_file(file) != meta["sha256"]:
            raise error(f"{file}: sha256 does not match {CHECKSUM_FILE} (corrupted or modified)")
