"""``kontak-nlp classify``: label every sentence (or article) of a file, resumably.

Exit codes: 0 done; 1 unexpected error; 2 bad usage, a bad row with ``--on-error raise``, an
existing output without ``--force``, an output another job is writing, or a job that cannot
resume (other settings, other input); 3 model cannot be loaded;
4 input unreadable (undecodable file, missing column); 5 output cannot be written (disk full);
130 interrupted (the job can be continued with ``--resume``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from kontak_nlp.cli._runtime import add_runtime_arguments, runtime_options

logger = logging.getLogger(__name__)

_EPILOG = """\
output rows: {"id"?, "row", "label", "score"} per input row (id when the input has an id column);
  --articles: {"article_id", "sentence_index", "start", "end", "paragraph", "boilerplate", "reason",
  "label", "score"} per unit; boilerplate units have "boilerplate": true and no label.
  HTML articles (.html files, HTML rows, --url pages): offsets point into the extracted text.
  --url / --urls: article_id is the URL; a page that cannot be fetched is a bad row (--on-error).
exactly once: OUTPUT.part and OUTPUT.state.json are written chunk by chunk; after a crash or
  kill, run the same command with --resume (it checks that the input rows already done are the
  same). OUTPUT appears only when the job is complete. One job per OUTPUT (OUTPUT.lock).
CSV output: text cells starting with = + - @ get a leading ' (no spreadsheet formulas); --raw-csv
  keeps them as they are.
exit codes: 0 ok, 1 unexpected, 2 usage / bad row / output exists or busy / cannot resume,
  3 model, 4 input data, 5 output I/O (disk full), 130 interrupted.
"""


def add_parser(subparsers: Any) -> None:
    """Register the ``classify`` command."""
    parser = subparsers.add_parser(
        "classify",
        help="label the sentences of a txt/jsonl/csv/parquet file or of articles",
        description="Label every sentence of INPUT (one per line/row; with --articles, whole articles "
        "are segmented first). Streams in chunks, commits each chunk exactly once, resumable.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input", metavar="INPUT", nargs="?",
        help=".txt/.jsonl/.csv/.tsv/.parquet file, directory of .txt/.html articles, or - (omit with --url)",
    )  # fmt: skip
    parser.add_argument(
        "--url", action="append", default=[], metavar="URL",
        help="fetch this news page and classify it as an article (repeatable; implies --articles)",
    )  # fmt: skip
    parser.add_argument("--urls", metavar="FILE", help="a file of URLs to fetch, one per line (# comments)")
    parser.add_argument(
        "--fetch-timeout", type=float, default=20.0, help="--url: seconds to wait per page (default: 20)"
    )
    parser.add_argument(
        "--max-page-bytes", type=int, default=5 * 1024 * 1024,
        help="--url: refuse pages larger than this (default: 5 MiB)",
    )  # fmt: skip
    parser.add_argument("--user-agent", help="--url: User-Agent header (default: kontak-nlp/VERSION ...)")
    parser.add_argument("-o", "--output", help=".jsonl/.csv/.parquet file (default: JSONL on stdout)")
    parser.add_argument("--model", help="model directory (default: the shipped default model)")
    parser.add_argument("--text-column", default="text", help="field with the text (default: text)")
    parser.add_argument("--id-column", help="field with row ids (default: id, when present)")
    parser.add_argument("--articles", action="store_true", help="rows are articles: segment them first")
    parser.add_argument("--input-format", choices=["txt", "jsonl", "csv", "tsv", "parquet"])
    parser.add_argument(
        "--chunk-size", type=int, default=2048, help="rows per committed chunk (default: 2048)"
    )
    add_runtime_arguments(parser)
    parser.add_argument("--resume", action="store_true", help="continue an interrupted job")
    parser.add_argument("--force", action="store_true", help="overwrite OUTPUT / discard an interrupted job")
    parser.add_argument(
        "--on-error",
        choices=["raise", "skip", "mark"],
        default="raise",
        help="bad rows: stop (raise), omit and count them (skip), or write them with an error (mark)",
    )
    parser.add_argument("--all-scores", action="store_true", help="add a score_<label> column per label")
    parser.add_argument("--with-text", action="store_true", help="copy the text into each output row")
    parser.add_argument(
        "--raw-csv", action="store_true", help="CSV output: keep cells starting with = + - @ as they are"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar or info logs")
    parser.add_argument("--engine", choices=["local", "ray"], default="local", help="local or Ray Data")
    parser.add_argument("--address", help="--engine ray: auto or ray://HOST:10001 (default: a local Ray)")
    parser.add_argument("--num-workers", type=int, default=1, help="--engine ray: model actors (default: 1)")
    parser.add_argument("--gpus-per-worker", type=float, default=0.0, help="--engine ray: GPUs per actor")
    parser.set_defaults(handler=run)


def _fetch_options(args: argparse.Namespace) -> tuple[list[str], Any]:
    """The URLs of ``--url`` and ``--urls FILE`` and the fetch settings."""
    from kontak_nlp.jobs.readers import read_url_list
    from kontak_nlp.text.fetch import DEFAULT_USER_AGENT, FetchConfig

    urls = list(args.url) + (read_url_list(args.urls) if args.urls else [])
    agent = args.user_agent or DEFAULT_USER_AGENT
    return urls, FetchConfig(timeout=args.fetch_timeout, max_bytes=args.max_page_bytes, user_agent=agent)


def build_config(args: argparse.Namespace) -> Any:
    """The :class:`~kontak_nlp.jobs.JobConfig` of parsed arguments."""
    from kontak_nlp.jobs import JobConfig

    urls, fetch = _fetch_options(args)
    return JobConfig(
        input=args.input,
        output=args.output,
        model=args.model,
        text_column=args.text_column,
        id_column=args.id_column,
        articles=args.articles,
        chunk_size=args.chunk_size,
        options=runtime_options(args),
        resume=args.resume,
        force=args.force,
        on_error=args.on_error,
        all_scores=args.all_scores,
        with_text=args.with_text,
        raw_csv=args.raw_csv,
        input_format=args.input_format,
        progress=False if args.quiet else None,
        urls=tuple(urls),
        fetch=fetch,
    )


def _hint(error: BaseException, config: Any) -> str:
    from kontak_nlp.errors import InputError

    if not config.output:
        return ""
    if isinstance(error, InputError):
        return "; fix the row, or add --resume --on-error skip to go on past bad rows"
    if isinstance(error, (KeyboardInterrupt, OSError)):
        return "; run the same command with --resume to continue"
    return ""


def run(args: argparse.Namespace) -> int:
    """Run the job and print the summary line on stderr (also when the job stops early)."""
    from kontak_nlp.jobs import run_job

    if args.quiet:
        logging.getLogger("kontak_nlp").setLevel(logging.WARNING)
    if args.engine == "ray":
        if args.url or args.urls:
            raise ValueError("--url/--urls run with --engine local only")
        from kontak_nlp.integrations.ray import run_from_args

        sys.stderr.write(run_from_args(args).line() + "\n")
        return 0
    config = build_config(args)
    try:
        summary = run_job(config)
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except BaseException as error:
        partial = getattr(error, "job_summary", None)
        if partial is not None:
            sys.stderr.write(f"{partial.line()} (stopped{_hint(error, config)})\n")
        raise
    sys.stderr.write(summary.line() + "\n")
    return 0
