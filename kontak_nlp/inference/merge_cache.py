"""Plain LoRA adapters merged into their base once per machine, then memory-mapped on every load.

Merging the default model's 72 adapters costs 0.3-0.5 s of every cold start, mostly in page faults
(new memory for the products, the base's memory-mapped pages copied on write). :func:`merged_weights`
writes the tensors a merge changes (the adapted projections, the head, the pooler) once to
``$KONTAK_NLP_HOME/merged/<key>/model.safetensors``, keyed by the sha256 of the adapter files, of
the base weights and the torch version, and later loads map that file instead of merging. An entry
carries a ``checksums.json`` that is verified on every load (hashes are recorded per file state,
see :mod:`kontak_nlp.checksums`, so this costs nothing once the file has settled); an entry that
fails it is merged and written again.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from kontak_nlp import checksums
from kontak_nlp.backbone.tmpdirs import publish

logger = logging.getLogger(__name__)

WEIGHTS = "model.safetensors"
_FORMAT = 1  # bump when an entry's content changes meaning
_ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def merged_weights(
    adapter_dir: Path, base_file: Path, base: dict[str, Any], home: Path | None = None
) -> dict[str, Any] | None:
    """The tensors of ``base`` that ``adapter_dir``'s plain LoRA changes or adds, merged (named as in
    ``base``); None when the adapter is not plain LoRA or does not fit ``base``.

    On a cache miss ``base`` is merged in place (:func:`~kontak_nlp.inference.lora.merge_plain_lora_tensors`)
    and the result is cached; on a hit ``base`` is left as it is.

    Args:
        adapter_dir: The adapter directory (``adapter_config.json``, ``adapter_model.safetensors``).
        base_file: The safetensors file ``base`` was read from (its sha256 is part of the key).
        base: The base model's tensors, named as the adapters name their targets.
        home: The cache root (default: ``$KONTAK_NLP_HOME``, else the user cache dir).

    Example:
        >>> merged = merged_weights(Path("kontak_nlp/models/news4"), backbone_file, tensors)  # doctest: +SKIP
        >>> sorted(merged)[-1]  # doctest: +SKIP
        'classifier.weight'
    """
    from kontak_nlp.inference.lora import merge_plain_lora_tensors

    entry = (home or checksums.cache_home()) / "merged" / merge_key(adapter_dir, base_file)
    cached = _read(entry)
    if cached is not None:
        return cached
    names = merge_plain_lora_tensors(base, adapter_dir)
    if names is None:
        return None
    merged = {name: base[name] for name in names}
    if publish(entry, lambda tmp: _write(tmp, merged)):
        logger.info("merged adapters of %s cached in %s", adapter_dir, entry)
    return merged


def merge_key(adapter_dir: Path, base_file: Path) -> str:
    """sha256 (hex, 32 characters) of the adapter files, the base weights and the torch version.

    Example:
        >>> len(merge_key(Path("kontak_nlp/models/news4"), backbone_file))  # doctest: +SKIP
        32
    """
    import torch

    digest = hashlib.sha256(f"format {_FORMAT}\ntorch {torch.__version__}\n".encode())
    for file in [adapter_dir / name for name in _ADAPTER_FILES] + [base_file]:
        digest.update(f"{file.name}\0{checksums.sha256_file(file, cached=True)}\n".encode())
    return digest.hexdigest()[:32]


def _read(entry: Path) -> dict[str, Any] | None:
    """The cached tensors (memory-mapped), or None when the entry is absent or fails its checksums."""
    from safetensors.torch import load_file

    if not (entry / checksums.CHECKSUM_FILE).exists():
        return None
    try:
        checksums.verify_checksums(entry, error=ValueError, required=True, cached=True)
        return load_file(str(entry / WEIGHTS))
    except Exception as err:  # a damaged entry (checksums, safetensors' own errors): merge again
        logger.warning("%s: unusable merged weights (%s); merging again", entry, err)
        return None


def _write(directory: Path, merged: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    save_file({name: tensor.contiguous() for name, tensor in merged.items()}, str(directory / WEIGHTS))
    checksums.write_checksums(directory, [WEIGHTS])
