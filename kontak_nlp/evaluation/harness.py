"""``evaluate(model, data)``: every figure a user needs to decide how far to trust a model.

Point metrics come from scikit-learn; intervals from a seeded bootstrap over whole articles;
calibration from the model's probabilities before and after its stored temperature; slices by
language, source style, difficulty and sentence length; optional baselines with a paired test.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kontak_nlp.errors import DataError, InputError
from kontak_nlp.evaluation._models import ModelOutput, model_labels, resolve_model, run_model
from kontak_nlp.evaluation.bootstrap import bootstrap_ci, paired_bootstrap
from kontak_nlp.evaluation.calibration import reliability_data
from kontak_nlp.evaluation.features import feature_slices
from kontak_nlp.evaluation.metrics import classification_metrics, encode_labels
from kontak_nlp.evaluation.report import EvalReport
from kontak_nlp.evaluation.slices import LENGTH_SLICE, length_bucket, slice_metrics
from kontak_nlp.schema import DEFAULT_LABELS

logger = logging.getLogger(__name__)

#: Slice columns used when present; a column named by the user must exist.
DEFAULT_SLICES: tuple[str, ...] = ("lang", "source_style", "outlet", "confidence", "hard")
#: Columns holding a sentence's index in its article (0 = headline), tried in order for the position slice.
_POSITION_COLUMNS: tuple[str, ...] = ("sent_idx", "idx")
#: Group columns tried, in order, when the default ``article_id`` is absent.
_GROUP_FALLBACKS: tuple[str, ...] = ("doc_id",)
_N_BINS = 15


@dataclass
class LabelledData:
    """Labelled rows ready to score: texts, gold labels, original row numbers, groups and slices."""

    name: str
    texts: list[str]
    gold: list[str]
    rows: list[int]
    groups: list[Any] | None = None
    group_column: str | None = None
    slices: dict[str, list[Any]] = field(default_factory=dict)
    n_dropped: int = 0
    columns: dict[str, str] = field(default_factory=dict)
    contexts: list[str] | None = None


def evaluate(
    model: Any,
    data: Any,
    *,
    text_column: str = "text",
    label_column: str = "label",
    group_column: str | None = "article_id",
    slice_columns: Sequence[str] = DEFAULT_SLICES,
    baselines: Mapping[str, Any] | Sequence[str] | None = None,
    train_data: Any = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    batch_size: int = 32,
    show_progress_bar: bool | None = None,
) -> EvalReport:
    """Evaluate a model on labelled data: metrics with bootstrap intervals, calibration, slices.

    Args:
        model: A Classifier, a model directory (``"default"``: the shipped model), a transformers
            pipeline, a baseline, or a callable ``list[str] -> list[str]`` (no calibration then).
        data: A corpus split (``"train"``/``"dev"``/``"test"``), a JSONL/CSV/Parquet file or folder,
            a Dataset, a DataFrame or a list of dicts; rows without a label are dropped (warned).
        text_column, label_column: The sentence and gold-label columns.
        group_column: Articles the bootstrap resamples whole (falls back to ``doc_id``; None: rows).
        slice_columns: Columns to break metrics down by (defaults used when present), plus length.
        baselines: A dict name -> model-like, or ``"majority"``/``"tfidf"`` fitted on ``train_data``.
        n_bootstrap, seed: Resamples and seed of the bootstrap and the paired tests.
        batch_size, show_progress_bar: Prediction settings (bar None: shown at INFO logging).

    Raises:
        DataError: Empty data, a missing column, or a gold label outside the model's label set.

    Example:
        >>> rows = [{"text": "Mereka bertemu.", "label": "meeting_report"},
        ...         {"text": "Perang.", "label": "background"}]
        >>> evaluate(lambda texts: ["meeting_report"] * len(texts), rows).metrics["accuracy"]
        0.5
    """
    table = load_labelled(data, text_column, label_column, group_column, slice_columns)
    resolved = resolve_model(model)
    declared = model_labels(resolved)
    if declared is not None:  # fail before classifying, not after
        check_gold_labels(table, declared)
    output = run_model(
        resolved,
        table.texts,
        contexts=table.contexts,
        batch_size=batch_size,
        show_progress_bar=show_progress_bar,
    )
    labels = output.labels or infer_labels(table.gold + output.predictions)
    others = _baseline_models(baselines, train_data, labels, text_column, label_column)
    return build_report(
        table, output, labels, others, n_bootstrap=n_bootstrap, seed=seed, batch_size=batch_size
    )


def build_report(
    table: LabelledData,
    output: ModelOutput,
    labels: Sequence[str],
    others: Mapping[str, Any],
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    batch_size: int = 32,
) -> EvalReport:
    """Score a model's output on labelled data (and compare with ``others``) into an :class:`EvalReport`."""
    gold = _encode_gold(table, labels)
    pred = encode_labels(output.predictions, labels, where=f"{output.name}: predicted")
    boot = {"n_bootstrap": n_bootstrap, "seed": seed, "level": 0.95, "group_column": table.group_column}
    boot["n_groups"] = len(set(map(str, table.groups))) if table.groups is not None else len(gold)
    return EvalReport(
        model=output.name,
        data=table.name,
        labels=list(labels),
        n_examples=len(gold),
        ci=bootstrap_ci(gold, pred, len(labels), groups=table.groups, n_bootstrap=n_bootstrap, seed=seed),
        bootstrap=boot,
        calibration=_calibration(output, gold),
        slices=slice_metrics(gold, pred, table.slices),
        baselines=_score_baselines(others, table, labels, gold, pred, boot, batch_size),
        errors=_error_rows(table, output, labels, gold, pred),
        meta={**table.columns, "n_dropped_unlabelled": table.n_dropped},
        **classification_metrics(gold, pred, labels),
    )


def load_labelled(
    data: Any,
    text_column: str = "text",
    label_column: str = "label",
    group_column: str | None = "article_id",
    slice_columns: Sequence[str] = DEFAULT_SLICES,
) -> LabelledData:
    """Read and validate evaluation data; drop rows without a label (with a warning).

    Example:
        >>> load_labelled([{"text": "Halo.", "label": "background"}]).gold
        ['background']
    """
    ds, name = _read(data)
    if ds.num_rows == 0:
        raise DataError(f"{name}: the dataset is empty; nothing to evaluate")
    from kontak_nlp.data import check_columns

    check_columns(ds, text_column, label_column, where=name)
    gold_all = list(ds[label_column])
    rows = [i for i, value in enumerate(gold_all) if value is not None]
    if len(rows) < len(gold_all):
        logger.warning("%s: dropped %d row(s) without a label (boilerplate)", name, len(gold_all) - len(rows))
    if not rows:
        raise DataError(f"{name}: no row has a label in column {label_column!r}; nothing to evaluate")
    texts_all = list(ds[text_column])
    for row in rows:
        if not isinstance(texts_all[row], str) or not texts_all[row].strip():
            raise DataError(
                f"{name}: row {row} has an empty or non-text {text_column!r} ({texts_all[row]!r})"
            )
    table = LabelledData(name, [texts_all[i] for i in rows], [gold_all[i] for i in rows], rows)
    table.n_dropped = len(gold_all) - len(rows)
    table.columns = {"text_column": text_column, "label_column": label_column}
    table.group_column = _group_column(ds, group_column, name)
    if table.group_column is not None:
        table.groups = _pick(ds, table.group_column, rows)
    table.slices = _slices(ds, slice_columns, rows, table.texts, name)
    table.contexts = _article_contexts(ds, table, rows)
    return table


def _article_contexts(ds: Any, table: LabelledData, rows: list[int]) -> list[str] | None:
    """Headline + previous-sentence contexts when the rows carry article ids and sentence positions."""
    from kontak_nlp.inference.context import contexts_by_group

    position_column = next((c for c in _POSITION_COLUMNS if c in ds.column_names), None)
    if table.groups is None or position_column is None:
        return None
    return contexts_by_group(table.texts, table.groups, _pick(ds, position_column, rows))


def _read(data: Any) -> tuple[Any, str]:
    from kontak_nlp.data import SPLITS, load_corpus, read_table

    if isinstance(data, str) and data in SPLITS and not Path(data).exists():
        return load_corpus(data), f"corpus:{data}"
    if isinstance(data, (str, Path)):
        return read_table(data), str(data)
    return read_table(data), type(data).__name__


def _pick(ds: Any, column: str, rows: list[int]) -> list[Any]:
    values = list(ds[column])
    return [values[i] for i in rows]


def _group_column(ds: Any, group_column: str | None, name: str) -> str | None:
    if group_column is None:
        return None
    if group_column in ds.column_names:
        return group_column
    for fallback in _GROUP_FALLBACKS:
        if fallback in ds.column_names:
            logger.info("%s: no %r column; resampling whole %r groups", name, group_column, fallback)
            return fallback
    logger.warning("%s: no %r column; the bootstrap resamples single sentences", name, group_column)
    return None


def _slices(
    ds: Any, columns: Sequence[str], rows: list[int], texts: list[str], name: str
) -> dict[str, list[Any]]:
    missing = [c for c in columns if c not in ds.column_names and c not in DEFAULT_SLICES]
    if missing:
        raise DataError(f"{name}: slice column(s) {missing} not found; available columns: {ds.column_names}")
    out = {c: _pick(ds, c, rows) for c in columns if c in ds.column_names}
    out[LENGTH_SLICE] = [length_bucket(t) for t in texts]
    position_column = next((c for c in _POSITION_COLUMNS if c in ds.column_names), None)
    positions = _pick(ds, position_column, rows) if position_column else None
    out.update(feature_slices(texts, positions))
    return out


def infer_labels(values: Sequence[str]) -> list[str]:
    """The label set of a model that declares none: the news labels if they cover ``values``, else sorted.

    Example:
        >>> infer_labels(["demand", "background"])
        ['meeting_report', 'position_statement', 'demand', 'background']
    """
    present = set(values)
    if present <= set(DEFAULT_LABELS):
        return list(DEFAULT_LABELS)
    return sorted(present)


def check_gold_labels(table: LabelledData, labels: Sequence[str]) -> None:
    """Raise :class:`DataError` naming every gold label outside the model's ``labels`` (with counts).

    Example:
        >>> table = load_labelled([{"text": "a", "label": "offer"}], group_column=None)
        >>> check_gold_labels(table, ["demand", "background"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        kontak_nlp.errors.DataError: list: gold label(s) {'offer': 1} (first at row 0) are not in ...
    """
    allowed = set(labels)
    unknown = Counter(value for value in table.gold if value not in allowed)
    if unknown:
        first = next(i for i, value in enumerate(table.gold) if value not in allowed)
        raise DataError(
            f"{table.name}: gold label(s) {dict(unknown)} (first at row {table.rows[first]}) are not in the "
            f"model's label set {list(labels)}; evaluate a model trained on these labels (e.g. kontak-nlp "
            "train --add-to default) or relabel the data"
        )


def _encode_gold(table: LabelledData, labels: Sequence[str]) -> np.ndarray:
    check_gold_labels(table, labels)
    return encode_labels(table.gold, labels)


def _calibration(output: ModelOutput, gold: np.ndarray) -> dict[str, Any] | None:
    before, after = output.proba(calibrated=False), output.proba(calibrated=True)
    if before is None or after is None:
        return None
    reliability_before = reliability_data(before, gold, n_bins=_N_BINS)
    reliability_after = reliability_data(after, gold, n_bins=_N_BINS)
    return {
        "temperature": float(output.temperature),
        "n_bins": _N_BINS,
        "ece_before": reliability_before["ece"],
        "ece_after": reliability_after["ece"],
        "reliability_before": reliability_before,
        "reliability_after": reliability_after,
    }


def _baseline_models(
    baselines: Mapping[str, Any] | Sequence[str] | None,
    train_data: Any,
    labels: Sequence[str],
    text_column: str,
    label_column: str,
) -> dict[str, Any]:
    """Resolve baselines to model-likes, fitting the named ones on ``train_data``."""
    from kontak_nlp.evaluation.baselines import BASELINE_NAMES, fit_baselines

    if not baselines:
        return {}
    if isinstance(baselines, str):
        baselines = [baselines]
    items = dict(baselines) if isinstance(baselines, Mapping) else {name: name for name in baselines}
    named = [key for key, value in items.items() if isinstance(value, str) and value in BASELINE_NAMES]
    if named:
        if train_data is None:
            raise InputError(f"baseline(s) {named} must be fitted: pass train_data=")
        train = load_labelled(train_data, text_column, label_column, None, ())
        fitted = fit_baselines([items[k] for k in named], train.texts, train.gold, label_set=labels)
        items.update({key: fitted[items[key]] for key in named})
    return items


def _score_baselines(
    others: Mapping[str, Any],
    table: LabelledData,
    labels: Sequence[str],
    gold: np.ndarray,
    pred: np.ndarray,
    boot: Mapping[str, Any],
    batch_size: int,
) -> dict[str, dict[str, Any]]:
    out = {}
    for name, other in others.items():
        result = run_model(other, table.texts, batch_size=batch_size, show_progress_bar=False)
        other_pred = encode_labels(result.predictions, labels, where=f"baseline {name}: predicted")
        scored = classification_metrics(gold, other_pred, labels)
        kwargs = {"groups": table.groups, "n_bootstrap": boot["n_bootstrap"], "seed": boot["seed"]}
        out[name] = {
            "model": result.name,
            "metrics": scored["metrics"],
            "per_class_f1": {label: row["f1"] for label, row in scored["per_class"].items()},
            "ci": bootstrap_ci(gold, other_pred, len(labels), **kwargs),
            "paired": paired_bootstrap(gold, pred, other_pred, labels=range(len(labels)), **kwargs),
        }
    return out


def _error_rows(
    table: LabelledData, output: ModelOutput, labels: Sequence[str], gold: np.ndarray, pred: np.ndarray
) -> list[dict[str, Any]]:
    """Misclassified rows, most confident first (rows without a confidence last)."""
    proba = output.proba(calibrated=True)
    confidence = proba.max(axis=1) if proba is not None else None
    errors = []
    for i in np.flatnonzero(gold != pred):
        row = {
            "row": table.rows[i],
            "text": table.texts[i],
            "gold": labels[gold[i]],
            "predicted": labels[pred[i]],
            "confidence": float(confidence[i]) if confidence is not None else None,
        }
        if table.group_column is not None and table.groups is not None:
            row[table.group_column] = _plain(table.groups[i])
        for column, values in table.slices.items():
            # A data column named like a leading column (realdev's "confidence") keeps a "data_" prefix.
            row["data_" + column if column in row else column] = _plain(values[i])
        errors.append(row)
    errors.sort(key=lambda e: -e["confidence"] if e["confidence"] is not None else float("inf"))
    return errors


def _plain(value: Any) -> Any:
    """A JSON-safe scalar: numpy scalars unwrapped, NaN as None."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value
