"""Training data for :func:`kontak_nlp.train`: read, validate, carve a dev split, add the shipped corpus.

Everything here runs before the model is loaded, so bad or too-small data fails in seconds.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from typing import Any

import numpy as np

from kontak_nlp.data import check_columns, check_label_counts, check_texts, read_table, resolve_labels
from kontak_nlp.errors import DataError
from kontak_nlp.schema import DEFAULT_LABELS
from kontak_nlp.training.config import TrainConfig
from kontak_nlp.training.plan import min_dev_rows

logger = logging.getLogger(__name__)

#: Columns of the shipped corpus that ``add_to="default"`` reads.
_CORPUS_COLUMNS = {"text": "text", "label": "label", "group": "article_id", "order": "sent_idx"}


def prepare_datasets(config: TrainConfig, train_data: Any, eval_data: Any) -> tuple[Any, Any, list[str]]:
    """Read, validate and split the data; returns ``(train, dev, labels)`` with integer ``labels``.

    With ``config.add_to == "default"`` the shipped corpus's train and dev splits are added to the
    user's rows, and the label set is the four default labels followed by the user's new ones.
    """
    train_ds = read_table(train_data)
    check_columns(train_ds, config.text_column, config.label_column, where="training data")
    check_texts(train_ds, config.text_column, where="training data")
    values = list(train_ds[config.label_column])
    labels = _label_set(values, config)
    if config.add_to:  # the corpus brings the other labels: one new label alone is fine
        rare = {label: n for label, n in Counter(values).items() if n < 2}
        if rare:
            raise DataError(f"training data: label(s) with fewer than 2 examples: {rare}")
    else:
        check_label_counts(values, labels, where="training data")
    if eval_data is None:
        train_ds, dev_ds = carve_dev(train_ds, config, len(set(values)))
    else:
        dev_ds = read_table(eval_data)
        check_columns(dev_ds, config.text_column, config.label_column, where="dev data")
        check_texts(dev_ds, config.text_column, where="dev data")
        resolve_labels(dev_ds[config.label_column], labels, where="dev data")
    columns = {"text": config.text_column, "label": config.label_column}
    columns.update(group=config.group_column, order=config.order_column)
    parts = [(train_ds, dev_ds, columns, "training data")]
    if config.add_to:
        from kontak_nlp.data import load_corpus

        parts.append((load_corpus("train"), load_corpus("dev"), _CORPUS_COLUMNS, "the shipped corpus"))
    label2id = {name: i for i, name in enumerate(labels)}
    dropout = config.context_dropout
    train_parts = [_keep(t, cols, label2id, config, dropout, where) for t, _, cols, where in parts]
    dev_parts = [_keep(d, cols, label2id, config, 0.0, where) for _, d, cols, where in parts]
    return _concat(train_parts), _concat(dev_parts), labels


def _label_set(values: list[Any], config: TrainConfig) -> list[str]:
    """The run's ordered labels; with ``add_to`` the default four first, then the data's new ones."""
    if not config.add_to:
        return resolve_labels(values, config.labels, where="training data")
    if config.labels is None:
        resolve_labels(values, sorted(set(values) | set(DEFAULT_LABELS)), where="training data")
        new = sorted(set(values) - set(DEFAULT_LABELS))
        if not new:
            logger.warning("add_to='default': the data has no new labels; training the four default ones")
        return [*DEFAULT_LABELS, *new]
    missing = [name for name in DEFAULT_LABELS if name not in config.labels]
    if missing:
        raise DataError(
            f"add_to='default' trains the default labels too, but the label set {config.labels} lacks "
            f"{missing}; add them or leave labels unset"
        )
    return resolve_labels(values, config.labels, where="training data")


def _keep(
    ds: Any,
    columns: dict[str, Any],
    label2id: dict[str, int],
    config: TrainConfig,
    dropout: float,
    where: str,
) -> Any:
    import datasets

    kept = {"text": list(ds[columns["text"]]), "labels": [label2id[v] for v in ds[columns["label"]]]}
    if config.context != "none":
        kept["context"] = _contexts(ds, columns, config, dropout, where)
    return datasets.Dataset.from_dict(kept)


def _concat(parts: list[Any]) -> Any:
    import datasets

    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


def _contexts(ds: Any, columns: dict[str, Any], config: TrainConfig, dropout: float, where: str) -> list[str]:
    """Article contexts of every row (headline and previous sentence), some blanked at ``dropout``."""
    from kontak_nlp.inference.context import contexts_by_group, drop_contexts

    group, order = columns["group"], columns["order"]
    if not group or group not in ds.column_names or order not in ds.column_names:
        raise DataError(
            f"{where}: context={config.context!r} needs the article column {group!r} and the "
            f"sentence-order column {order!r}; available columns: {ds.column_names}"
        )
    texts = list(ds[columns["text"]])
    contexts = contexts_by_group(texts, list(ds[group]), list(ds[order]))
    return drop_contexts(contexts, dropout, config.seed)


def carve_dev(ds: Any, config: TrainConfig, n_labels: int) -> tuple[Any, Any]:
    """Hold out a dev split: ``dev_fraction`` of the rows (at least ``min_dev_rows``), by group if any.

    ``n_labels`` is the number of labels present in ``ds``.

    Raises:
        DataError: The data cannot give that dev split and keep 2 training rows per label.
    """
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    n_rows, targets = ds.num_rows, list(ds[config.label_column])
    n_dev = max(math.ceil(config.dev_fraction * n_rows), min_dev_rows(config, n_labels))
    needed = n_dev + 2 * n_labels
    if n_rows < needed:
        raise DataError(
            f"training data: {n_rows} rows are too few to hold out a dev split of {n_dev} rows and keep 2 "
            f"training rows for each of the {n_labels} labels (need at least {needed}); label more rows "
            "or give a separate dev file (--dev)"
        )
    index = np.arange(n_rows)
    if config.group_column and config.group_column in ds.column_names:
        share = n_dev / n_rows
        splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=config.seed)
        train_idx, dev_idx = next(splitter.split(index, targets, groups=list(ds[config.group_column])))
    else:
        stratify = targets if min(Counter(targets).values()) >= 2 and n_dev >= n_labels else None
        train_idx, dev_idx = train_test_split(
            index, test_size=n_dev, random_state=config.seed, stratify=stratify
        )
    _check_carved(targets, train_idx, dev_idx)
    logger.info("held out a dev split of %d rows out of %d training rows", len(dev_idx), n_rows)
    return ds.select(sorted(train_idx)), ds.select(sorted(dev_idx))


def _check_carved(targets: list[str], train_idx: np.ndarray, dev_idx: np.ndarray) -> None:
    in_train = {targets[i] for i in train_idx}
    lost = sorted(set(targets) - in_train)
    if lost:
        raise DataError(
            f"training data: holding out dev by group left no training rows for {lost}; label more rows "
            "or give a separate dev file (--dev)"
        )
    absent = sorted(set(targets) - {targets[i] for i in dev_idx})
    if absent:
        logger.warning("the dev split has no rows of %s; dev scores do not measure them", absent)
