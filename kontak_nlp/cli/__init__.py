"""The ``kontak-nlp`` command line: argument parsing only, each command calls an importable function.

Exit codes: 0 success, 1 unexpected error, 2 bad usage or bad input, 3 model (or its backbone)
cannot be loaded,
4 data error (missing column, unknown label, undecodable file), 5 I/O error (disk full, not
writable), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from kontak_nlp._version import __version__
from kontak_nlp.errors import BackboneError, DataError, InputError, KontakError, ModelLoadError

logger = logging.getLogger("kontak_nlp")

#: Modules under kontak_nlp.cli that each provide ``add_parser(subparsers)``.
COMMANDS: tuple[str, ...] = ("classify", "evaluate", "train", "calibrate", "demo")

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_MODEL, EXIT_DATA, EXIT_IO, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 5, 130


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command.

    Example:
        >>> build_parser().prog
        'kontak-nlp'
    """
    parser = argparse.ArgumentParser(
        prog="kontak-nlp",
        description="Tag sentences of diplomatic news as meeting_report, position_statement, demand "
        "or background.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--traceback", action="store_true", help="show full tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"kontak_nlp.cli.{name}").add_parser(subparsers)
    return parser


def exit_code_for(error: BaseException) -> int:
    """The documented exit code of an error."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, (ModelLoadError, BackboneError)):
        return EXIT_MODEL
    if isinstance(error, DataError):
        return EXIT_DATA
    if isinstance(error, (InputError, ValueError)):
        return EXIT_USAGE
    if isinstance(error, OSError):
        return EXIT_IO
    return EXIT_UNEXPECTED


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Example:
        >>> main(["--version"])  # doctest: +SKIP
        kontak-nlp 0.1.0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args) or EXIT_OK)
    except (KontakError, OSError, ValueError, KeyboardInterrupt) as error:
        if args.traceback:
            raise
        message = "interrupted" if isinstance(error, KeyboardInterrupt) else str(error)
        sys.stderr.write(f"kontak-nlp: error: {message}\n")
        return exit_code_for(error)
