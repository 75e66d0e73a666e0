"""The one model loader: a model directory, ``"default"``/None (the shipped model) or a hub id.

:func:`load_model` is what ``kontak_nlp.load`` (cached), batch jobs, the evaluation harness,
articles and Ray call. :func:`model_source` is where a model argument becomes a local directory or
a hub id: ``"default"`` and None are the shipped model everywhere, and a value that looks like a
local path but does not exist fails at once instead of being looked up on the Hugging Face hub.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from kontak_nlp.errors import KontakError, ModelLoadError
from kontak_nlp.inference.options import RuntimeOptions, configure_threads

logger = logging.getLogger(__name__)

#: Where the shipped default model lives inside the installed package.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "news4"
DEFAULT_NAME = "default"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_PATH_PREFIXES = ("./", "../", "/", "~", ".\\", "..\\")


def default_model_path() -> Path:
    """Path of the shipped default model; raises :class:`ModelLoadError` if it is not installed.

    Example:
        >>> default_model_path().name
        'news4'
    """
    if not (DEFAULT_MODEL_DIR / "config.json").exists():
        raise ModelLoadError(f"{DEFAULT_MODEL_DIR}: the default model is not installed with this package")
    return DEFAULT_MODEL_DIR


def looks_like_path(value: str) -> bool:
    """True when ``value`` is meant as a local path: it starts with ``./ ../ / ~``, holds a
    backslash (or the OS separator other than ``/``), has more than one ``/`` or is not a hub id.

    Example:
        >>> looks_like_path("./runs/news4"), looks_like_path("intfloat/multilingual-e5-small")
        (True, False)
    """
    if value.startswith(_PATH_PREFIXES) or "\\" in value or (os.sep != "/" and os.sep in value):
        return True
    return value.count("/") > 1 or not _HUB_ID.match(value)


def model_source(model: str | Path | None) -> Path | str:
    """Where a model argument points: a local directory (a ``Path``) or a hub id (a ``str``).

    ``None`` and ``"default"`` are the shipped model. A missing path fails here with
    :class:`ModelLoadError`; only a bare ``name`` or ``org/name`` goes to the hub.

    Example:
        >>> model_source("default") == default_model_path()
        True
    """
    if model is None or str(model) == DEFAULT_NAME:
        return default_model_path()
    local = Path(model).expanduser()
    if local.exists():
        return local
    if isinstance(model, Path) or looks_like_path(str(model)):
        raise ModelLoadError(f"{model}: model directory does not exist")
    return str(model)


def load_model(model: Any = None, options: RuntimeOptions | None = None) -> Any:
    """Load a model to run: a torch :class:`~kontak_nlp.Classifier` or an ONNX classifier.

    Args:
        model: A model directory, ``"default"`` or None (the shipped model), or a hub id.
        options: How it runs (:class:`RuntimeOptions`; None: the defaults, torch fp32).

    With ``quantize="int8"`` the model also carries its fp32 version as ``recheck_with``. Any
    failure to read the model becomes :class:`ModelLoadError` (exit code 3 in the CLI).

    Example:
        >>> options = RuntimeOptions(backend="onnx", quantize="int8")
        >>> model = load_model("runs/news4", options)  # doctest: +SKIP
        >>> model.precision  # doctest: +SKIP
        'int8'
    """
    options = options or RuntimeOptions()
    source = model_source(model)
    resolved = options.resolve()
    threads = configure_threads(options.threads) if resolved.device.type == "cpu" else None
    try:
        loaded = _load(source, options, resolved, threads)
    except KontakError:
        raise
    except Exception as err:  # OSError, safetensors, JSON, tokenizer errors...
        raise ModelLoadError(f"{source}: cannot load the model ({type(err).__name__}: {err})") from err
    logger.info(
        "model %s: %s %s on %s (%s)",
        source,
        options.backend,
        resolved.precision,
        resolved.device,
        resolved.reason,
    )
    return loaded


def _load(source: Path | str, options: RuntimeOptions, resolved: Any, threads: int | None) -> Any:
    if options.backend == "onnx":
        from kontak_nlp.inference.onnx.backend import OnnxClassifier

        return OnnxClassifier.from_pretrained(source, options, device=str(resolved.device), threads=threads)
    from kontak_nlp.inference.torch_backend import Classifier

    return Classifier.from_pretrained(
        source, device=str(resolved.device), precision=resolved.precision, batch_size=options.batch_size
    )
