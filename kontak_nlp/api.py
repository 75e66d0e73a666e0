"""Notebook entry points: :func:`load` and :func:`classify`, backed by a small model cache."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kontak_nlp._inputs import _is_pandas_series, coerce_texts
from kontak_nlp.errors import ModelLoadError
from kontak_nlp.model import Classifier
from kontak_nlp.schema import Prediction

logger = logging.getLogger(__name__)

#: Where the shipped default model lives inside the installed package.
DEFAULT_MODEL_DIR = Path(__file__).parent / "models" / "news4"


def default_model_path() -> Path:
    """Path of the shipped default model; raises :class:`ModelLoadError` if it is not installed."""
    if not (DEFAULT_MODEL_DIR / "config.json").exists():
        raise ModelLoadError(f"{DEFAULT_MODEL_DIR}: the default model is not installed with this package")
    return DEFAULT_MODEL_DIR


@functools.lru_cache(maxsize=4)
def _cached_load(path: str, device: str, precision: str | None) -> Classifier:
    logger.info("loading model from %s on %s", path, device)
    return Classifier.from_pretrained(path, device=device, precision=precision)


def load(path: str | Path | None = None, *, device: str = "auto", precision: str | None = None) -> Classifier:
    """Load a classifier once and reuse it: ``None`` is the shipped default model.

    Repeated calls with the same arguments return the same object.

    Example:
        >>> import kontak_nlp
        >>> clf = kontak_nlp.load()  # doctest: +SKIP
        >>> clf.labels  # doctest: +SKIP
        ['meeting_report', 'position_statement', 'demand', 'background']
    """
    target = default_model_path() if path is None else Path(path)
    key = str(target.resolve()) if target.exists() else str(path)
    return _cached_load(key, str(device), precision)


def clear_cache() -> None:
    """Forget the models that :func:`load` keeps in memory."""
    _cached_load.cache_clear()


def _resolve_model(model: Classifier | str | Path | None, device: str) -> Classifier:
    if isinstance(model, Classifier):
        return model
    return load(model, device=device)


def classify(
    texts: str | Iterable[str] | Any,
    *,
    model: Classifier | str | Path | None = None,
    batch_size: int = 32,
    device: str = "auto",
    top_k: int | None = None,
    show_progress_bar: bool | None = None,
) -> Prediction | list[Prediction] | Any:
    """Label sentences: a ``str`` gives one :class:`Prediction`, a list gives a list in the same order,
    a ``pandas.Series`` gives a ``DataFrame`` indexed like the Series.

    Args:
        texts: A sentence, an iterable of sentences or a ``pandas.Series`` of them.
        model: A :class:`Classifier`, a model directory, or None for the shipped default model.
        batch_size: Sentences per forward pass.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (ignored when ``model`` is loaded).
        top_k: Keep the ``top_k`` best labels in ``scores`` (None keeps all).

    Raises:
        InputError: A row is None, NaN, bytes or not a string; the message names its position.

    Example:
        >>> import kontak_nlp
        >>> kontak_nlp.classify("Menlu Jepang bertemu Menlu Korea Selatan di Tokyo.").label  # doctest: +SKIP
        'meeting_report'
    """
    values, single = coerce_texts(texts)
    clf = _resolve_model(model, device)
    predictions = clf.classify(
        values, top_k=top_k, batch_size=batch_size, show_progress_bar=show_progress_bar
    )
    if single:
        return predictions[0]
    if _is_pandas_series(texts):
        return _to_frame(predictions, texts.index)
    return predictions


def _to_frame(predictions: list[Prediction], index: Any) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "text": [p.text for p in predictions],
            "label": [p.label for p in predictions],
            "score": [p.score for p in predictions],
            "scores": [p.scores for p in predictions],
        },
        index=index,
    )
