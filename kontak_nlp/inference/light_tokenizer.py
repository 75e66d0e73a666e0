"""The tokenizer of the light inference path: a ``tokenizers.Tokenizer``, without transformers.

Building a transformers tokenizer costs seconds (importing transformers, then its tokenizer class).
What kontak_nlp asks of it, ``tokenizer(texts[, contexts], truncation=..., max_length=...)``, is one
``encode_batch`` of its ``tokenizers`` backend with truncation set, special tokens added and
``encode_special_tokens`` set from ``split_special_tokens``. :func:`load_light_tokenizer` builds that
backend once with transformers, exactly as transformers builds it (tokenizer class, added tokens,
post-processor), and caches it in ``$KONTAK_NLP_HOME/tokenizers/<key>/`` (``tokenizer.json``,
``settings.json`` and their ``checksums.json``, verified on every load), keyed by the sha256 of the
tokenizer directory's files and the transformers and tokenizers versions. Later loads read the
cached backend with ``tokenizers`` alone and give the same ids as the transformers tokenizer.

A tokenizer class whose calls do more than that (it overrides ``__call__`` or ``_encode_plus``) or
that has no ``tokenizers`` backend is recorded as unsupported: the caller keeps transformers.

At interpreter exit the backends still alive are left to the operating system instead of being
dropped: freeing a 250,000-piece vocabulary (the default model's) costs ~0.4 s of every short
process's exit and gives back nothing the OS does not reclaim anyway.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kontak_nlp import checksums
from kontak_nlp.backbone.tmpdirs import publish

logger = logging.getLogger(__name__)

SETTINGS = "settings.json"
BACKEND = "tokenizer.json"
_FORMAT = 1  # bump when the cached files change meaning
_LARGE = 10**29  # transformers' "no limit" model_max_length is 10**30
_NOT_TOKENIZER = (".safetensors", ".bin", ".onnx", ".ckpt", ".h5", ".msgpack", ".pt", ".pth", ".gguf")
# Files of a model directory that AutoTokenizer does not read (besides weights).
_NOT_READ = frozenset(
    {
        checksums.CHECKSUM_FILE,
        "adapter_config.json",
        "kontak_config.json",
        "labels.json",
        "README.md",
        "training_args.json",
        "eval_results.json",
        "train_history.json",
        "train_time.json",
    }
)
_STRATEGIES = {True: "longest_first", "longest_first": "longest_first", "only_first": "only_first"}
_STRATEGIES["only_second"] = "only_second"
# transformers methods between ``tokenizer(...)`` and the backend's encode_batch: a class overriding
# one of them may change the ids, so its tokenizers are not cached.
_PLAIN_METHODS = (
    "__call__",
    "_get_padding_truncation_strategies",
    "_switch_to_input_mode",
    "_encode_plus",
    "set_truncation_and_padding",
)


_LIVE: weakref.WeakSet[LightTokenizer] = weakref.WeakSet()


class _Unsupported(Exception):
    """The tokenizer directory's tokenizer cannot run without transformers."""


class LightTokenizer:
    """The calls kontak_nlp makes on a transformers fast tokenizer, on its ``tokenizers`` backend.

    Attributes:
        backend: The ``tokenizers.Tokenizer`` (as the transformers tokenizer's ``backend_tokenizer``).
        pad_token_id, model_max_length, truncation_side: As the transformers tokenizer's.

    Example:
        >>> tok = load_light_tokenizer(Path("runs/news4"))  # doctest: +SKIP
        >>> tok(["Halo."], truncation=True, max_length=8)["input_ids"]  # doctest: +SKIP
        [[0, 35378, 5, 2]]
    """

    def __init__(self, backend: Any, settings: dict[str, Any]) -> None:
        self.backend = backend
        self.pad_token_id: int | None = settings["pad_token_id"]
        self.model_max_length: int = int(settings["model_max_length"])
        self.truncation_side: str = settings["truncation_side"]
        backend.no_padding()
        backend.no_truncation()
        backend.encode_special_tokens = bool(settings["split_special_tokens"])
        _LIVE.add(self)

    def __call__(
        self,
        text: Sequence[str],
        text_pair: Sequence[str] | None = None,
        *,
        truncation: bool | str = False,
        max_length: int | None = None,
    ) -> dict[str, list[list[int]]]:
        """``input_ids`` and ``attention_mask`` of a batch of texts (or pairs), unpadded, with special
        tokens, truncated as transformers' ``tokenizer(text, text_pair, truncation=..., max_length=...)``.

        Example:
            >>> tok(["Menlu bertemu."], ["Judul"], truncation="only_second", max_length=64)  # doctest: +SKIP
            {'input_ids': [[0, ..., 2, 2, ..., 2]], 'attention_mask': [[1, ..., 1]]}
        """
        if isinstance(text, str):
            raise TypeError("LightTokenizer takes a batch (a list of str), not one str")
        batch = list(zip(text, text_pair)) if text_pair is not None else list(text)
        self._set_truncation(truncation, max_length)
        encodings = self.backend.encode_batch(batch, add_special_tokens=True)
        return {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
        }

    def _set_truncation(self, truncation: bool | str, max_length: int | None) -> None:
        """The backend's truncation, as transformers' ``set_truncation_and_padding`` sets it."""
        strategy = _STRATEGIES.get(truncation) if truncation else None
        if truncation and strategy is None:
            raise ValueError(f"truncation={truncation!r} is not supported")
        if strategy is not None and max_length is None:
            strategy = None if self.model_max_length > _LARGE else strategy
            max_length = self.model_max_length
        if strategy is None:
            self.backend.no_truncation()
            return
        target = {
            "max_length": max_length,
            "stride": 0,
            "strategy": strategy,
            "direction": self.truncation_side,
        }
        current = self.backend.truncation
        if current is None or {key: current.get(key) for key in target} != target:
            self.backend.enable_truncation(**target)


@atexit.register
def _leave_backends_to_the_os() -> None:
    """At exit, keep one more reference to each live backend, so interpreter teardown skips its drop."""
    live = list(_LIVE)
    if not live:
        return
    import ctypes

    for tokenizer in live:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(tokenizer.backend))


def load_light_tokenizer(tokenizer_dir: Path, home: Path | None = None) -> LightTokenizer | None:
    """The light tokenizer of ``tokenizer_dir``, from the cache (built there with transformers on a
    miss); None when its tokenizer needs transformers at run time.

    Args:
        tokenizer_dir: The directory ``AutoTokenizer.from_pretrained`` would read.
        home: The cache root (default: ``$KONTAK_NLP_HOME``, else the user cache dir).

    Example:
        >>> load_light_tokenizer(Path("runs/news4")).pad_token_id  # doctest: +SKIP
        1
    """
    entry = (home or checksums.cache_home()) / "tokenizers" / cache_key(tokenizer_dir)
    try:
        cached = _read_entry(entry)
    except _Unsupported:
        return None
    if cached is not None:
        return cached
    logger.info("caching the tokenizer of %s in %s (once)", tokenizer_dir, entry)
    try:
        backend, settings = _build_with_transformers(tokenizer_dir)
    except _Unsupported as err:
        logger.debug("light tokenizer not used for %s: %s", tokenizer_dir, err)
        _write_entry(entry, None, {"format": _FORMAT, "supported": False, "reason": str(err)})
        return None
    _write_entry(entry, backend, settings)
    return LightTokenizer(backend, settings)


def cache_key(tokenizer_dir: Path) -> str:
    """sha256 (hex, 32 characters) of what ``AutoTokenizer`` reads in ``tokenizer_dir`` and of the
    library versions: every file but weights, adapters and training records, and of ``config.json``
    only ``model_type`` and ``tokenizer_class`` (so a new calibration temperature keeps the entry).

    Example:
        >>> len(cache_key(Path("runs/news4")))  # doctest: +SKIP
        32
    """
    import tokenizers

    digest = hashlib.sha256(f"format {_FORMAT}\n".encode())
    digest.update(f"tokenizers {tokenizers.__version__}\ntransformers {_transformers_version()}\n".encode())
    for file in sorted(tokenizer_dir.iterdir()):
        if file.name == "config.json":
            config = json.loads(file.read_text(encoding="utf-8"))
            read = {key: config.get(key) for key in ("model_type", "tokenizer_class")}
            digest.update(f"config.json\0{json.dumps(read, sort_keys=True)}\n".encode())
        elif file.is_file() and file.name not in _NOT_READ and not file.name.endswith(_NOT_TOKENIZER):
            digest.update(f"{file.name}\0{checksums.sha256_file(file, cached=True)}\n".encode())
    return digest.hexdigest()[:32]


def _transformers_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("transformers")
    except PackageNotFoundError:
        return "none"


def _read_entry(entry: Path) -> LightTokenizer | None:
    """The cached tokenizer; None when absent or damaged; :class:`_Unsupported` if recorded so."""
    from tokenizers import Tokenizer

    if not (entry / checksums.CHECKSUM_FILE).exists():
        return None
    try:
        checksums.verify_checksums(entry, error=ValueError, required=True, cached=True)
        settings = json.loads((entry / SETTINGS).read_text(encoding="utf-8"))
        if not settings["supported"]:
            raise _Unsupported(settings.get("reason", ""))
        return LightTokenizer(Tokenizer.from_file(str(entry / BACKEND)), settings)
    except _Unsupported:
        raise
    except Exception as err:  # checksums, JSON, a missing key, tokenizers' own error for a damaged file
        logger.warning("%s: unusable cached tokenizer (%s); building it again", entry, err)
        return None


def _build_with_transformers(tokenizer_dir: Path) -> tuple[Any, dict[str, Any]]:
    """The backend and settings of the transformers tokenizer of ``tokenizer_dir``."""
    from transformers import AutoTokenizer
    from transformers.tokenization_utils_tokenizers import TokenizersBackend

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), trust_remote_code=False)
    if not isinstance(tokenizer, TokenizersBackend):
        raise _Unsupported(f"{type(tokenizer).__name__} has no tokenizers backend")
    for name in _PLAIN_METHODS:
        if getattr(type(tokenizer), name, None) is not getattr(TokenizersBackend, name, None):
            raise _Unsupported(f"{type(tokenizer).__name__} overrides {name}")
    settings = {
        "format": _FORMAT,
        "supported": True,
        "pad_token_id": tokenizer.pad_token_id,
        "model_max_length": int(tokenizer.model_max_length),
        "truncation_side": tokenizer.truncation_side,
        "split_special_tokens": bool(tokenizer.split_special_tokens),
        "tokenizer_class": type(tokenizer).__name__,
    }
    return tokenizer.backend_tokenizer, settings


def _write_entry(entry: Path, backend: Any, settings: dict[str, Any]) -> None:
    """Publish a cache entry (atomically; skipped when the cache cannot be written)."""

    def fill(directory: Path) -> None:
        names = [SETTINGS]
        if backend is not None:
            backend.save(str(directory / BACKEND))
            names.append(BACKEND)
        text = json.dumps(settings, indent=2, sort_keys=True) + "\n"
        (directory / SETTINGS).write_text(text, encoding="utf-8")
        checksums.write_checksums(directory, names)

    publish(entry, fill)
