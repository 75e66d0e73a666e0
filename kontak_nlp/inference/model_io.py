"""Reading and writing model directories safely (safetensors only, no remote code, checksums).

Two directory layouts are understood:

* a plain Hugging Face directory (``config.json`` + ``model.safetensors`` + tokenizer), which is
  what ``save_pretrained(merged=True)`` writes and what ``transformers.pipeline`` loads;
* a kontak adapter directory (``config.json`` + ``adapter_config.json`` +
  ``adapter_model.safetensors`` + ``kontak_config.json`` naming the base encoder), which keeps the
  shipped default model small. It is merged into its base on load.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from kontak_nlp.checksums import verify_checksums, write_checksums
from kontak_nlp.errors import ModelLoadError
from kontak_nlp.inference.model_safety import check_labels_file, check_no_code

logger = logging.getLogger(__name__)

KONTAK_CONFIG = "kontak_config.json"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
_PICKLE_FILES = ("pytorch_model.bin", "model.ckpt", "tf_model.h5")
_SAFE = {"use_safetensors": True, "trust_remote_code": False}


def ordered_labels(config: Any) -> list[str]:
    """Label names sorted by id from ``config.id2label`` (keys may be int or str)."""
    id2label = getattr(config, "id2label", None) or {}
    return [str(name) for _, name in sorted(id2label.items(), key=lambda kv: int(kv[0]))]


def model_max_length(model: Any, tokenizer: Any) -> int:
    """The usable token limit: the smaller of the tokenizer's limit, the position table and 512."""
    limit = 512
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions:
        offset = 2 if getattr(model.config, "model_type", "") in {"roberta", "xlm-roberta"} else 0
        limit = min(limit, int(positions) - offset)
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if tok_limit and tok_limit < 1_000_000:
        limit = min(limit, int(tok_limit))
    return limit


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' "newly initialized weights" chatter during controlled loads."""
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|peft)\.")
            yield
    finally:
        hf_logging.set_verbosity(previous)
        if bars:
            hf_logging.enable_progress_bar()


def read_json(file: Path) -> dict[str, Any]:
    """A JSON file of a model directory; :class:`ModelLoadError` names a missing or broken file.

    Example:
        >>> read_json(Path("kontak_nlp/models/news4/kontak_config.json"))
        {'base': 'default'}
    """
    if not file.exists():
        raise ModelLoadError(f"{file}: required file is missing")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ModelLoadError(f"{file}: not valid JSON ({err}); the file is truncated or corrupted") from err


def _check_safetensors(file: Path) -> None:
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="pt") as handle:
            names = list(handle.keys())
            if names:
                handle.get_slice(names[-1])
    except Exception as err:  # safetensors raises several error types for damaged files
        raise ModelLoadError(
            f"{file}: cannot read safetensors weights ({err}); truncated or corrupted"
        ) from err


def check_model_dir(path: Path) -> None:
    """Validate a local model directory before handing it to transformers; errors name the file.

    It must not ask for code to run (:func:`kontak_nlp.inference.model_safety.check_no_code`), its
    ``labels.json`` must agree with ``config.json``, and its files must match ``checksums.json``.
    """
    if not path.is_dir():
        raise ModelLoadError(f"{path}: model directory does not exist")
    _checked_labels(path)
    verify_checksums(path)
    if (path / ADAPTER_CONFIG).exists():
        read_json(path / KONTAK_CONFIG)
        if not (path / ADAPTER_WEIGHTS).exists():
            _missing(path / ADAPTER_WEIGHTS)
        _check_safetensors(path / ADAPTER_WEIGHTS)
        return
    present = [name for name in _WEIGHT_FILES if (path / name).exists()]
    if not present:
        pickled = [name for name in _PICKLE_FILES if (path / name).exists()]
        hint = f" (found {pickled[0]}, which kontak_nlp refuses to unpickle)" if pickled else ""
        _missing(path / "model.safetensors", hint)
    if (path / "model.safetensors").exists():
        _check_safetensors(path / "model.safetensors")


def peek_labels(source: Path | str) -> list[str] | None:
    """A model's label names from its ``config.json``, without loading it (None for a hub id).

    ``source`` is what :func:`kontak_nlp.inference.loader.model_source` resolved: a local directory
    (a ``Path``) or a hub id (a ``str``). Cheap checks run before the weights load:
    :class:`ModelLoadError` names a missing or broken ``config.json`` and a config without ``id2label``.

    Example:
        >>> peek_labels(Path("runs/news4"))  # doctest: +SKIP
        ['meeting_report', 'position_statement', 'demand', 'background']
    """
    if not isinstance(source, Path):
        return None
    local = source
    if not local.is_dir():
        raise ModelLoadError(f"{source}: not a model directory")
    labels = _checked_labels(local)
    if not labels:
        raise ModelLoadError(f"{local / 'config.json'}: no id2label (the model has no label names)")
    return labels


def _checked_labels(path: Path) -> list[str]:
    """``config.json``'s labels, after the no-code and ``labels.json`` checks."""
    config = read_json(path / "config.json")
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path / 'config.json'}: not a JSON object")
    check_no_code(path, config)
    try:
        labels = ordered_labels(SimpleNamespace(id2label=config.get("id2label")))
    except (AttributeError, TypeError, ValueError) as err:
        raise ModelLoadError(f"{path / 'config.json'}: unreadable id2label ({err})") from err
    check_labels_file(path, labels)
    return labels


def _missing(file: Path, hint: str = "") -> None:
    raise ModelLoadError(f"{file}: weights file is missing{hint}")


def load_model_and_tokenizer(source: Path | str, *, checked: bool = False) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from a local directory (a ``Path``) or a hub id (a ``str``), as
    :func:`kontak_nlp.inference.loader.model_source` resolved it. Remote code is never run.

    ``checked``: :func:`check_model_dir` already passed on this directory (it is not run again).
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if not isinstance(source, Path):
        logger.info("%s is not a local directory; loading it from the Hugging Face hub", source)
        try:
            model = AutoModelForSequenceClassification.from_pretrained(source, **_SAFE)
            return model, AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        except OSError as err:
            raise ModelLoadError(
                f"{source}: not a local directory and not loadable from the hub ({err})"
            ) from err
    if not checked:
        check_model_dir(source)
    if (source / ADAPTER_CONFIG).exists():
        return _load_adapter_dir(source)
    with quiet_transformers():
        model = AutoModelForSequenceClassification.from_pretrained(str(source), **_SAFE)
    return model, AutoTokenizer.from_pretrained(str(source), trust_remote_code=False)


def _load_adapter_dir(path: Path) -> tuple[Any, Any]:
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from kontak_nlp.backbone import resolve_base
    from kontak_nlp.inference.lora import merge_plain_lora

    base = resolve_base(read_json(path / KONTAK_CONFIG).get("base"))
    if Path(base).is_dir():
        check_no_code(Path(base), read_json(Path(base) / "config.json"))
    config = AutoConfig.from_pretrained(str(path), trust_remote_code=False)
    with quiet_transformers():
        model = AutoModelForSequenceClassification.from_pretrained(
            base, config=config, ignore_mismatched_sizes=True, **_SAFE
        )
        if not merge_plain_lora(model, path):  # plain LoRA merges without importing peft (seconds)
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(path)).merge_and_unload()
    tokenizer_dir = path if (path / "tokenizer_config.json").exists() else Path(base)
    return model, AutoTokenizer.from_pretrained(str(tokenizer_dir), trust_remote_code=False)


def save_model(model: Any, tokenizer: Any, path: Path, *, merged: bool = True) -> Path:
    """Write ``model`` to ``path`` as a plain HF directory or, with ``merged=False``, as adapters."""
    path.mkdir(parents=True, exist_ok=True)
    is_peft = hasattr(model, "peft_config")
    if merged or not is_peft:
        if not merged:
            logger.warning("model has no adapters; saving full weights")
        plain = copy.deepcopy(model).merge_and_unload() if is_peft else model
        with quiet_transformers():
            plain.save_pretrained(str(path))
        tokenizer.save_pretrained(str(path))
    else:
        with quiet_transformers():
            model.save_pretrained(str(path))
        model.config.save_pretrained(str(path))
        base = getattr(model.config, "kontak_base", None) or "default"
        (path / KONTAK_CONFIG).write_text(json.dumps({"base": base}, indent=2) + "\n", encoding="utf-8")
        if base != "default":
            tokenizer.save_pretrained(str(path))
    write_checksums(path)
    return path
