"""A model directory is data, never code: checks that run before transformers reads it.

transformers runs Python files shipped in a model directory when its ``config.json`` (or
``tokenizer_config.json``) has an ``auto_map``, or when ``model_type`` is not one of its built-in
architectures, and it asks on stdin whether to do so when ``trust_remote_code`` is not given. In a
batch job stdin is the data, so a data line ``y`` would answer. kontak_nlp passes
``trust_remote_code=False`` everywhere and, before that, refuses such directories here with a
:class:`ModelLoadError` naming the file, so no prompt can ever appear.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from kontak_nlp.errors import ModelLoadError

LABELS_FILE = "labels.json"
_CODE_KEYS = ("auto_map",)
_CODE_CONFIGS = ("config.json", "tokenizer_config.json", "preprocessor_config.json")
#: Architectures every supported transformers version implements: accepted without importing
#: transformers (seconds), which the light inference path otherwise never imports.
_CORE_MODEL_TYPES = frozenset({"bert"})


def _json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise ModelLoadError(f"{file}: not valid JSON ({err}); the file is truncated or corrupted") from err


@functools.cache
def builtin_model_types() -> frozenset[str]:
    """The ``model_type`` values transformers implements itself (no code from the directory).

    Example:
        >>> "bert" in builtin_model_types()
        True
    """
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return frozenset(CONFIG_MAPPING_NAMES)


def check_no_code(directory: Path, config: dict[str, Any]) -> None:
    """Refuse a model directory that would make transformers run (or offer to run) its own code.

    Raises:
        ModelLoadError: ``auto_map`` in ``config.json``/``tokenizer_config.json``, or a
            ``model_type`` that is missing or not a built-in transformers architecture.

    Example:
        >>> check_no_code(Path("m"), {"model_type": "bert"})
        >>> check_no_code(Path("m"), {"model_type": "bert", "auto_map": {"AutoConfig": "x.Cfg"}})
        Traceback (most recent call last):
        ...
        kontak_nlp.errors.ModelLoadError: m/config.json: has "auto_map" (Python code shipped with the model); kontak_nlp never runs code from a model directory
    """  # noqa: E501
    for name in _CODE_CONFIGS:
        data = config if name == "config.json" else _optional_json(directory / name)
        found = [key for key in _CODE_KEYS if isinstance(data, dict) and key in data]
        if found:
            raise ModelLoadError(
                f'{directory / name}: has "{found[0]}" (Python code shipped with the model); '
                "kontak_nlp never runs code from a model directory"
            )
    model_type = config.get("model_type")
    builtin = model_type in _CORE_MODEL_TYPES or (
        isinstance(model_type, str) and model_type in builtin_model_types()
    )
    if not builtin:
        raise ModelLoadError(
            f"{directory / 'config.json'}: model_type {model_type!r} is not a built-in transformers "
            "architecture; kontak_nlp loads only those (custom architectures would run code from "
            "the model directory)"
        )


def _optional_json(file: Path) -> Any:
    return _json(file) if file.exists() else None


def check_labels_file(directory: Path, labels: list[str]) -> None:
    """``labels.json`` (older model directories have one) must list ``config.json``'s labels in order.

    Example:
        >>> check_labels_file(Path("/nonexistent"), ["a", "b"])
    """
    file = directory / LABELS_FILE
    if not file.exists():
        return
    listed = _json(file)
    if listed != labels:
        raise ModelLoadError(
            f"{file}: lists the labels {listed!r}, but config.json's id2label gives {labels!r}; the "
            "label order was changed in one of them, so predictions would carry the wrong names"
        )
