"""Notebook entry points: :func:`load` and :func:`classify`, backed by a small model cache."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from kontak_nlp.inference.loader import load_model, model_source
from kontak_nlp.inference.options import RuntimeOptions
from kontak_nlp.inference.predictor import PredictorBase
from kontak_nlp.inference.texts import _is_pandas_series
from kontak_nlp.schema import Prediction

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def _cached_load(source: str, options: RuntimeOptions) -> PredictorBase:
    logger.info("loading model from %s (%s)", source, options)
    return load_model(Path(source) if Path(source).is_dir() else source, options)


def load(
    model: PredictorBase | str | Path | None = None,
    options: RuntimeOptions | None = None,
    *,
    device: str | None = None,
    precision: str | None = None,
) -> PredictorBase:
    """Load a classifier once and reuse it: None or ``"default"`` is the shipped default model.

    Repeated calls with the same arguments return the same object; a loaded model is returned as is.

    Args:
        model: A model directory, ``"default"``/None, a hub id, or an already loaded model.
        options: How it runs (:class:`~kontak_nlp.inference.RuntimeOptions`; None: the defaults).
        device, precision: Shortcuts that replace those fields of ``options``.

    Example:
        >>> import kontak_nlp
        >>> clf = kontak_nlp.load()  # doctest: +SKIP
        >>> clf.labels  # doctest: +SKIP
        ['meeting_report', 'position_statement', 'demand', 'background']
    """
    if model is not None and not isinstance(model, (str, Path)):
        return model  # already loaded
    options = (options or RuntimeOptions()).replace(device=device, precision=precision)
    source = model_source(model)
    key = str(source.resolve()) if isinstance(source, Path) else source
    return _cached_load(key, options)


def clear_cache() -> None:
    """Forget the models that :func:`load` keeps in memory."""
    _cached_load.cache_clear()


@overload
def classify(
    texts: str,
    *,
    model: PredictorBase | str | Path | None = None,
    options: RuntimeOptions | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    top_k: int | None = None,
    show_progress_bar: bool | None = None,
) -> Prediction: ...


@overload
def classify(
    texts: pd.Series,
    *,
    model: PredictorBase | str | Path | None = None,
    options: RuntimeOptions | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    top_k: int | None = None,
    show_progress_bar: bool | None = None,
) -> pd.DataFrame: ...


@overload
def classify(
    texts: Iterable[str],
    *,
    model: PredictorBase | str | Path | None = None,
    options: RuntimeOptions | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    top_k: int | None = None,
    show_progress_bar: bool | None = None,
) -> list[Prediction]: ...


def classify(
    texts: str | Iterable[str] | Any,
    *,
    model: PredictorBase | str | Path | None = None,
    options: RuntimeOptions | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    top_k: int | None = None,
    show_progress_bar: bool | None = None,
) -> Prediction | list[Prediction] | Any:
    """Label sentences: a ``str`` gives one :class:`Prediction`, a list gives a list in the same order,
    a ``pandas.Series`` gives a ``DataFrame`` (columns ``text, label, score, scores``) indexed like
    the Series. Type checkers see the three cases (``typing.overload``).

    The default options (torch fp32) are those of ``kontak-nlp classify``, batch jobs and Ray, so
    every entry point gives the same labels.

    Args:
        texts: A sentence, an iterable of sentences or a ``pandas.Series`` of them.
        model: A loaded classifier, a model directory, ``"default"``/None (the shipped model) or a hub id.
        options: How the model runs (:class:`~kontak_nlp.inference.RuntimeOptions`; ignored when
            ``model`` is already loaded).
        batch_size: Sentences per forward pass (None: ``options.batch_size``, 32).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (replaces ``options.device``).
        top_k: Keep the ``top_k`` best labels in ``scores`` (None keeps all).

    Raises:
        InputError: A row is None, NaN, bytes or not a string (the message names its position); or
            ``texts`` is a DataFrame, a dict, a ``datasets.Dataset`` or a path, whose iteration would
            not give the texts, or a ``str`` naming an existing file (the message gives the fix).

    Example:
        >>> import kontak_nlp
        >>> kontak_nlp.classify("Menlu Jepang bertemu Menlu Korea Selatan di Tokyo.").label  # doctest: +SKIP
        'meeting_report'
    """
    clf = load(model, options, device=device)
    predictions = clf.classify(texts, top_k=top_k, batch_size=batch_size, show_progress_bar=show_progress_bar)
    if isinstance(texts, str):
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
