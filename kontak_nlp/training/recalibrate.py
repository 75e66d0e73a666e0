"""Refit a trained model's calibration temperature on held-out labeled data, after training.

Training fits the temperature on its own dev split. Dev is drawn from the training distribution, so a
model that is sharp on dev can still be over-confident on harder text. :func:`recalibrate` refits the
stored temperature on rows the model never trained on (your own held-out annotations, or corpus
articles written after the model was trained) and records where it came from in ``config.json``.
Only the scores change: a temperature never changes which label wins.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kontak_nlp.checksums import CHECKSUM_FILE, write_checksums
from kontak_nlp.errors import DataError

logger = logging.getLogger(__name__)

#: Sub-directory where ``save_format="both"`` keeps the adapter copy of a model.
_ADAPTER_DIR = "adapter"


@dataclass(frozen=True)
class Recalibration:
    """What :func:`recalibrate` did: the old and new temperature and the rows it was fitted on."""

    old_temperature: float
    temperature: float
    n_rows: int
    source: str


def recalibrate(
    model_dir: str | Path,
    data: Any,
    *,
    text_column: str = "text",
    label_column: str = "label",
    min_rows: int = 40,
    source: str | None = None,
) -> Recalibration:
    """Fit the temperature of the model in ``model_dir`` on ``data`` and store it in its config.

    Args:
        model_dir: A trained model directory (its ``adapter/`` copy, if any, is updated too).
        data: Labeled rows the model did not train on: a file, directory, DataFrame, list of dicts
            or ``datasets.Dataset`` (anything :func:`kontak_nlp.data.read_table` reads).
        text_column, label_column: Where the sentence and its gold label are; a ``context`` column,
            if any, reaches models trained with article context.
        min_rows: Fewer rows than this is refused, as is a fit that lands at a bound.
        source: How to describe ``data`` in ``config.json`` (default: its path or row count).

    Raises:
        DataError: Missing columns, empty texts, labels the model does not have (the error names the
            first such row), too few rows or a fit at a bound.

    Example:
        >>> from kontak_nlp.training.recalibrate import recalibrate
        >>> recalibrate("runs/mine", "my_heldout.jsonl").temperature  # doctest: +SKIP
        1.07
    """
    from kontak_nlp.data import check_columns, check_texts, read_table, resolve_labels
    from kontak_nlp.evaluation.calibration import checked_temperature
    from kontak_nlp.inference.loader import load_model

    model_dir = Path(model_dir)
    where = source or (str(data) if isinstance(data, (str, Path)) else "calibration data")
    ds = read_table(data)
    check_columns(ds, text_column, label_column, where=where)
    check_texts(ds, text_column, where=where)
    model = load_model(model_dir)
    labels = resolve_labels(ds[label_column], model.labels, where=where)  # names the first unknown row
    gold = np.array([labels.index(value) for value in ds[label_column]], dtype=np.int64)
    context = ds["context"] if "context" in ds.column_names else None  # used by context-trained models
    logits = model.predict_logits(ds[text_column], context=context, show_progress_bar=False)
    logits = np.asarray(logits, dtype=np.float64)
    temperature, skipped = checked_temperature(logits, gold, min_rows=min_rows, where=where)
    if temperature is None:
        raise DataError(f"{where}: {skipped}")
    result = Recalibration(model.temperature, temperature, len(gold), f"{where} ({len(gold)} rows)")
    for directory in (model_dir, model_dir / _ADAPTER_DIR):
        _store(directory, result)
    logger.info("%s: T %.3f -> %.3f on %s", model_dir, result.old_temperature, temperature, result.source)
    return result


def _store(directory: Path, result: Recalibration) -> None:
    """Write the temperature and its source into ``directory/config.json``, if it holds a model."""
    config_file = directory / "config.json"
    if not config_file.exists():
        return
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["calibration_temperature"] = result.temperature
    config["calibration_source"] = result.source
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if (directory / CHECKSUM_FILE).exists():
        write_checksums(directory)
