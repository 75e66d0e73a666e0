"""``kontak-nlp demo``: classify the bundled example article with the default model."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kontak_nlp.cli._runtime import add_runtime_arguments, runtime_options


def add_parser(subparsers: Any) -> None:
    """Register the ``demo`` command."""
    parser = subparsers.add_parser(
        "demo", help="classify the bundled example article", description="Classify the example article."
    )
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    add_runtime_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print each sentence with its label and score, then the dropped boilerplate."""
    from kontak_nlp.api import load
    from kontak_nlp.article import classify_article, read_example_article

    result = classify_article(read_example_article(), model=load(args.model, runtime_options(args)))
    sys.stdout.write(str(result) + "\n")
    return 0
