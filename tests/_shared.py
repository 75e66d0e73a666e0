"""Locate the project's shared folder (guidelines, seed articles, seeds-dev reference) for tests."""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    """Return the shared folder that holds ``data/seeds-dev.jsonl``, or None when there is none.

    The environment variable ``KONTAK_SHARED_DIR`` is tried first, then ``<repo>/../shared``.

    Example:
        >>> folder = shared_dir()
        >>> folder is None or (folder / "data" / "seeds-dev.jsonl").is_file()
        True
    """
    candidates = [os.environ.get("KONTAK_SHARED_DIR"), _REPO.parent / "shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "data" / "seeds-dev.jsonl").is_file():
            return Path(candidate)
    return None
