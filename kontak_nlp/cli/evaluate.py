"""``kontak-nlp evaluate``: score a model on labelled data, print a summary, write a report folder."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from kontak_nlp.cli._runtime import add_runtime_arguments, runtime_options

logger = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    """Register the ``evaluate`` command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a classifier on labelled data",
        description="Evaluate a classifier: metrics with bootstrap confidence intervals, calibration, "
        "slices, optional baselines and behavioural tests. Prints a summary; --out writes report.json, "
        "report.md, errors.csv and figures.",
    )
    parser.add_argument(
        "--model", default="default", help="model directory or hub id (default: the shipped model)"
    )
    parser.add_argument(
        "--data", required=True, help="labelled file/directory (jsonl/csv/parquet) or train|dev|test"
    )
    parser.add_argument("--out", help="directory for report.json, report.md, errors.csv and the figures")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument(
        "--group-column",
        default="article_id",
        help="column of article ids; the bootstrap resamples whole articles ('none': single sentences)",
    )
    parser.add_argument(
        "--slice",
        action="append",
        default=[],
        metavar="COLUMN",
        help="also report metrics per value of COLUMN",
    )
    parser.add_argument(
        "--baseline-train", help="training data for the majority and TF-IDF + logistic regression baselines"
    )
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--behaviour", action="store_true", help="also run the behavioural (CheckList) tests")
    add_runtime_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the summary table and write the report folder."""
    from kontak_nlp.api import load
    from kontak_nlp.evaluation import evaluate, run_behaviour_tests, write_report
    from kontak_nlp.evaluation.harness import DEFAULT_SLICES

    if args.bootstrap < 1:
        raise ValueError(f"--bootstrap must be >= 1, got {args.bootstrap}")
    options = runtime_options(args)
    model = load(args.model, options)
    group_column = None if args.group_column.lower() == "none" else args.group_column
    report = evaluate(
        model,
        args.data,
        text_column=args.text_column,
        label_column=args.label_column,
        group_column=group_column,
        slice_columns=tuple(dict.fromkeys([*DEFAULT_SLICES, *args.slice])),
        baselines=["majority", "tfidf"] if args.baseline_train else None,
        train_data=args.baseline_train,
        n_bootstrap=args.bootstrap,
        seed=args.seed,
        batch_size=options.batch_size,
    )
    if args.behaviour:
        report.behaviour = run_behaviour_tests(model, batch_size=options.batch_size, seed=args.seed).to_dict()
    sys.stdout.write(report.summary() + "\n")
    if args.out:
        paths = write_report(report, args.out)
        logger.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return 0
