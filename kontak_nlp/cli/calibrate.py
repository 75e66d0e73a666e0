"""``kontak-nlp calibrate``: refit a trained model's temperature on held-out labeled data."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the ``calibrate`` command."""
    parser = subparsers.add_parser(
        "calibrate",
        help="refit a model's confidence temperature on held-out labeled data",
        description="Fit the temperature of a trained model on labeled rows it did not train on and "
        "store it in the model's config.json (labels never change, only the scores). Use data that "
        "looks like what the model will read; never the data you report calibration on.",
    )
    parser.add_argument("--model", required=True, help="trained model directory (updated in place)")
    parser.add_argument("--data", required=True, help="labeled file or directory (jsonl/csv/parquet)")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--min-rows", type=int, default=40, help="refuse to fit on fewer rows (default 40)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Refit and print the old and new temperature."""
    from kontak_nlp.training.recalibrate import recalibrate

    result = recalibrate(
        args.model,
        args.data,
        text_column=args.text_column,
        label_column=args.label_column,
        min_rows=args.min_rows,
    )
    old, new = result.old_temperature, result.temperature
    print(f"{args.model}: temperature {old:.3f} -> {new:.3f} ({result.source})")
    return 0
