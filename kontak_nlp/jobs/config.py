"""The configuration and the result of a batch job: :class:`JobConfig` in, :class:`JobSummary` out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kontak_nlp.formats import JOB_INPUTS, JOB_OUTPUTS, format_of, suffixes
from kontak_nlp.inference.options import RuntimeOptions

ON_ERROR = ("raise", "skip", "mark")
DEFAULT_CHUNK_SIZE = 2048


@dataclass
class JobConfig:
    """Everything that defines a ``kontak-nlp classify`` job.

    Attributes:
        input: A ``.txt``/``.jsonl``/``.csv``/``.tsv``/``.parquet`` file, a directory of ``.txt``
            or ``.html`` articles (with ``articles=True``) or ``"-"`` for stdin; None with ``urls``.
        output: A ``.jsonl``/``.csv``/``.parquet`` file, or None (or ``"-"``) for JSONL on stdout.
        model: A model directory (or hub id); None is the shipped default model.
        text_column: The field holding the text (JSONL/CSV/Parquet).
        id_column: The field holding row ids. None uses ``"id"`` when the input has it; an explicit
            name must exist in the input.
        articles: Each input row is a whole article: segment it, classify every sentence, and write
            one row per unit with offsets (boilerplate units get ``boilerplate: true`` and no label).
        chunk_size: Input rows (sentences in article mode) read, classified and committed at once.
        options: How the model runs (:class:`~kontak_nlp.inference.RuntimeOptions`: device,
            precision, backend, quantize, recheck_margin, threads, batch_size); the defaults are
            those of ``kontak_nlp.classify()``. Part of the resume fingerprint.
        resume: Continue an interrupted job from its state file.
        force: Overwrite an existing output (and discard an interrupted job's state).
        on_error: ``"raise"`` stops at the first bad row, ``"skip"`` omits and counts bad rows,
            ``"mark"`` writes them with an ``error`` field.
        all_scores: Add one ``score_<label>`` column per label.
        with_text: Copy the text into each output row.
        raw_csv: CSV output only: write text cells as they are. By default a cell starting with
            ``= + - @`` (or a tab or carriage return) gets a leading ``'`` so that spreadsheet
            programs do not run it as a formula (``docs/security.md``).
        input_format: Override the format guessed from the extension (needed for odd names).
        progress: Show a progress bar; None shows it only when stderr is a terminal.
        urls: Instead of ``input``, web pages to fetch and classify as articles (``articles`` is
            implied); each URL is its article's id.
        fetch: Timeout, size limit and user agent for ``urls``
            (a :class:`~kontak_nlp.text.fetch.FetchConfig`; None: its defaults).

    Example:
        >>> cfg = JobConfig(input="news.jsonl", output="labels.jsonl", on_error="skip")
        >>> cfg.output_format
        'jsonl'
    """

    input: str | Path | None
    output: str | Path | None = None
    model: str | Path | None = None
    text_column: str = "text"
    id_column: str | None = None
    articles: bool = False
    chunk_size: int = DEFAULT_CHUNK_SIZE
    options: RuntimeOptions = field(default_factory=RuntimeOptions)
    resume: bool = False
    force: bool = False
    on_error: str = "raise"
    all_scores: bool = False
    with_text: bool = False
    raw_csv: bool = False
    input_format: str | None = None
    progress: bool | None = None
    urls: tuple[str, ...] = ()
    fetch: Any = None

    def __post_init__(self) -> None:
        if self.output in ("-", ""):
            self.output = None
        self.urls = (self.urls,) if isinstance(self.urls, str) else tuple(self.urls)
        if (self.input is None) == (not self.urls):
            raise ValueError("give exactly one of an input (file, directory or -) and URLs (--url/--urls)")
        self.articles = self.articles or bool(self.urls)
        checks = [
            (self.on_error in ON_ERROR, f"on_error must be one of {ON_ERROR}, got {self.on_error!r}"),
            (isinstance(self.options, RuntimeOptions), "options must be a RuntimeOptions"),
            (self.chunk_size >= 1, f"chunk_size must be >= 1, got {self.chunk_size}"),
            (self.input_format in (None, *JOB_INPUTS), f"input_format must be one of {JOB_INPUTS}"),
            (not (self.resume and self.output is None), "--resume needs an output file (-o OUTPUT)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        _ = self.output_format  # validates the output extension

    @property
    def output_format(self) -> str:
        """``"jsonl"``, ``"csv"`` or ``"parquet"``, from the output's extension (stdout is JSONL)."""
        if self.output is None:
            return "jsonl"
        fmt = format_of(self.output)
        if fmt not in JOB_OUTPUTS:
            suffix = Path(self.output).suffix
            raise ValueError(
                f"{self.output}: unknown output format {suffix or '(no extension)'!r}; "
                f"use one of {', '.join(suffixes(*JOB_OUTPUTS))}"
            )
        return fmt

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the fields."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


@dataclass
class JobSummary:
    """What a job did. ``rows_*`` count input rows (articles in article mode) over all runs of a
    resumed job; ``seconds`` is the wall time of this run (model loading included); ``blank_lines``
    counts the blank lines of a ``.txt`` input, which are skipped (not rows).

    Example:
        >>> JobSummary(rows_read=3, rows_written=2, rows_errored=1, seconds=0.5, on_error="skip").line()
        'kontak-nlp classify: 3 rows read, 2 written, 1 errored (skip) in 0.50 s (6 rows/s)'
    """

    rows_read: int = 0
    rows_written: int = 0
    rows_errored: int = 0
    seconds: float = 0.0
    output: str | None = None
    articles: bool = False
    units_written: int = 0
    boilerplate_rows: int = 0
    resumed_from: int = 0
    rows_this_run: int = 0
    backend: str = "torch"
    precision: str = "fp32"
    on_error: str = "raise"
    rechecked: int | None = None
    duplicate_ids: int = 0
    blank_lines: int = 0
    complete: bool = False

    def line(self) -> str:
        """The one-line summary the CLI prints on stderr."""
        noun = "articles" if self.articles else "rows"
        written = f"{self.rows_written} written"
        if self.articles:
            written += f" ({self.units_written} output rows, {self.boilerplate_rows} boilerplate)"
        errored = f"{self.rows_errored} errored" + (f" ({self.on_error})" if self.rows_errored else "")
        rate = (self.rows_this_run or self.rows_read) / self.seconds if self.seconds > 0 else 0.0
        text = f"kontak-nlp classify: {self.rows_read} {noun} read, {written}, {errored}"
        text += f" in {self.seconds:.2f} s ({_rate(rate)} {noun}/s)"
        if self.resumed_from:
            text += f", resumed at {noun[:-1]} {self.resumed_from}"
        if self.rechecked is not None:
            text += f", {self.rechecked} int8 near-ties recomputed in fp32"
        if self.duplicate_ids:
            text += f", {self.duplicate_ids} repeated id(s)"
        if self.blank_lines:
            text += f", {self.blank_lines} blank line(s) skipped"
        if self.output and self.complete:
            text += f" -> {self.output}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the fields."""
        return asdict(self)


def _rate(rate: float) -> str:
    """A rate with enough digits to not read 0 for a small job (``0.27``, ``3.5``, ``387``).

    Example:
        >>> _rate(0.27), _rate(3.51), _rate(387.2), _rate(0.0)
        ('0.27', '3.5', '387', '0')
    """
    return f"{rate:.0f}" if rate >= 10 or rate == 0 else f"{rate:.2g}"
