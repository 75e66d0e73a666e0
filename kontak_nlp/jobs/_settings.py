"""What a job's output depends on, gathered before the model loads where possible.

A resumed job must match every value here exactly (see :func:`kontak_nlp.jobs.state.check_resumable`);
the values known without the model are checked before it loads, so a mismatch fails fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kontak_nlp._version import __version__
from kontak_nlp.jobs._formats import Reader
from kontak_nlp.jobs.config import JobConfig
from kontak_nlp.jobs.rows import RowOptions


def settings_before_load(config: JobConfig, reader: Reader, model_key: str, options: RowOptions) -> dict:
    """What shapes the output bytes and is known before the model loads; see :func:`settings_after_load`.

    ``--on-error`` is left out on purpose (``mark`` shows in the columns): a job stopped by a bad
    row under ``raise`` can be resumed with ``--on-error skip``.
    """
    return {
        "kontak_nlp": __version__,
        "input": reader.fingerprint(),
        "input_format": reader.fmt,
        "model": model_key,
        "columns": [c.name for c in options.columns()],
        "text_column": config.text_column,
        "id_column": reader.id_column if reader.has_ids else None,
        "chunk_size": config.chunk_size,
        "runtime": config.options.to_dict(),
        "output_format": config.output_format,
        "raw_csv": config.raw_csv and config.output_format == "csv",
    }


def settings_after_load(config: JobConfig, model: Any, precision: str, options: RowOptions) -> dict:
    """The rest of the settings a resumed job must match, known once the model has loaded: what the
    runtime options resolved to (precision, device) and the recheck margin in force."""
    return {
        "precision": precision,
        "recheck_margin": model.recheck_margin if getattr(model, "rechecks_near_ties", False) else 0.0,
        "device": str(getattr(model, "device", "cpu")),
        "columns": [c.name for c in options.columns()],
    }


def model_key(config: JobConfig, model: Any) -> str:
    """The model's checksum (a local directory) or its name (a hub id), without loading it."""
    from kontak_nlp.inference.loader import model_source
    from kontak_nlp.inference.onnx.export import model_checksum

    source = (getattr(model, "source", None) if model is not None else None) or model_source(config.model)
    source = str(source)
    return model_checksum(source) if Path(source).is_dir() else source


def model_labels(config: JobConfig, model: Any) -> list[str] | None:
    """The model's label names, read from its ``config.json`` without loading the weights
    (ModelLoadError for a missing or broken model directory; None for a hub id)."""
    if model is not None:
        return list(model.labels)
    from kontak_nlp.inference.loader import model_source
    from kontak_nlp.inference.model_io import peek_labels

    return peek_labels(model_source(config.model))


def row_options(config: JobConfig, reader: Reader, labels: list[str] | None) -> RowOptions:
    return RowOptions(
        labels=tuple(labels or ()),
        on_error=config.on_error,
        articles=config.articles,
        has_ids=reader.has_ids,
        id_kind=reader.id_kind,
        with_text=config.with_text,
        all_scores=config.all_scores,
    )
