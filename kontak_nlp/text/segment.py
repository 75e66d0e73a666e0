"""Split news articles into sentence units with character offsets, and set site furniture aside.

The rules follow the annotation guidelines ("Units" and "Not labeled: boilerplate"):

* a line break always ends a unit, and empty lines are not units;
* inside a line a sentence ends at ``.``, ``!`` or ``?`` (plus closing quotes or brackets) when
  whitespace and then a capital letter, a digit or an opening quote/bracket follow. A closing quote
  stays with the sentence before it and an opening quote goes with the sentence after it, so a
  quotation of several sentences is split at its inner sentence ends;
* abbreviations (``Dr.``, ``Jl.``, ``Prof.``, ``U.S.`` ...), initials (``H.``, ``J.R.``), list
  numbers at the start of a line (``1.``) and ellipses (``...``, ``…``) do not end a sentence; dates,
  decimals and times (``27/2/2025``, ``3,5``, ``6.500``, ``10.30``) never do, as no space follows;
* an orphan period left by a removed hyperlink (``... pada . Pada``) ends the sentence before it;
* datelines (``JAKARTA -``, ``TRIBUNNEWS.COM -``) stay inside the first sentence;
* furniture that can sit anywhere in a line (markdown images, ``[video.1]`` placeholders, image
  URLs) is cut out before sentences are split, and furniture glued to a sentence's start or end
  (``Advertisement``, ``(Foto: Kemlu RI)``) is cut off it, the sentence kept
  (:mod:`kontak_nlp.text.boilerplate`).

Units tile the text: every visible character belongs to exactly one unit, and ``text[start:end]``
is the unit as written (offsets count Python characters, i.e. code points); ``unit.text`` is the
same with markdown syntax reduced (:func:`kontak_nlp.text.markup.reduce_markup`). Boilerplate units
are kept in :attr:`Segmentation.units` with the rule that matched, so nothing is dropped silently and
predictions can still be mapped back onto the article.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from kontak_nlp.text._layout import find_duplicates, find_kicker_lines, find_listing_lines
from kontak_nlp.text.boilerplate import find_inline_furniture, is_boilerplate, trim_edge_furniture
from kontak_nlp.text.html import Page, extract_page, looks_like_html
from kontak_nlp.text.markup import is_link_only, reduce_markup

__all__ = [
    "DEFAULT_ABBREVIATIONS",
    "FORMATS",
    "Segmentation",
    "SegmenterConfig",
    "Sentence",
    "is_boilerplate",
    "segment",
    "split_sentences",
]

#: Abbreviations (with their final period) that never end a sentence. Matching is case-sensitive,
#: except that all-caps spellings (``PROF.``) and entries written in lowercase (``dll.``) match any case.
DEFAULT_ABBREVIATIONS: tuple[str, ...] = tuple(
    # Indonesian and Malay titles, ranks, addresses and Latin-style shorthands.
    "Dr. Drs. Dra. Prof. Ir. H. Hj. K.H. Kol. Jend. Letjen. Mayjen. Brigjen. Laksda. Laksma. Laksdya. "
    "Marsda. Marsma. Marsdya. Kapt. Kombes. Irjen. Komjen. AKBP. Kompol. Sdr. Sdri. Bpk. Yth. Tn. Ny. Nn. "
    "En. Pn. Tbk. PT. CV. Sdn. Bhd. Jl. Jln. Gg. Kec. Kab. Kel. Prov. No. Nos. Rp. Hal. hlm. Telp. Tel. "
    "M.Si. M.Sc. Ph.D. dll. dsb. dst. dkk. ybs. a.n. u.p. s.d. dok. ket. sbg. tsb. "
    "Inf. Pol. Kav. Purn. dr. drg. "
    # English titles, ranks, companies, shorthands and months.
    "Mr. Mrs. Ms. Messrs. Jr. Sr. St. Mt. Ft. Co. Inc. Ltd. Corp. Bros. Gen. Lt. Col. Maj. Capt. Sgt. "
    "Adm. Cmdr. Gov. Sen. Rep. Rev. Hon. Amb. Dept. Univ. Ave. Blvd. Rd. Vol. U.S. U.K. U.N. e.g. i.e. "
    "vs. etc. approx. a.m. p.m. Jan. Feb. Apr. Aug. Sept. Oct. Nov. Dec.".split()
)

#: The input formats :func:`segment` accepts.
FORMATS: tuple[str, ...] = ("auto", "text", "html")

_LINE_BREAK_RE = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_TERMINATORS = ".!?…"
_CLOSERS = "\"'”’»›)]*_"
_OPENERS = "\"'“‘„«‹([¿¡*_"
# Whitespace right after a terminator or closer: the only places a sentence can end inside a line.
# A one-character lookbehind keeps the scan linear even on pathological input ("......" x 1e6).
_CANDIDATE_RE = re.compile(r"(?<=[.!?…\"'”’»›)\]*_])\s+")
_INITIALS_RE = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")
_ELLIPSIS_FURNITURE = frozenset({"loading", "memuat", "memuatkan"})
_FURNITURE_START_RE = re.compile(r"(?:loading|memuat|memuatkan)(?:\.{2,}|…)", re.IGNORECASE)
_MAX_TOKEN = 30
_Unit = tuple[int, int, "str | None"]  # (start, end, furniture reason found while cutting, or None)
_Lines = list[list[_Unit]]  # the units, line by line


@dataclass(frozen=True)
class SegmenterConfig:
    """Options of :func:`segment`.

    Attributes:
        drop_boilerplate: Detect site furniture and mark it ``boilerplate=True`` (default True). When
            False, no unit is boilerplate: every unit is a sentence (duplicate detection is off too).
        extra_abbreviations: More abbreviations that must not end a sentence, e.g. ``("Kemlu.",)``;
            the final period is optional. Default: none beyond :data:`DEFAULT_ABBREVIATIONS`.
        dedupe_repeated_blocks: Mark later exact copies of repeated blocks (two or more consecutive
            sentences, as when a scraped page repeats its body) as boilerplate with reason
            ``"duplicate"`` (default True). A single repeated sentence, such as a quotation the
            reporter repeats, is kept.

    Example:
        >>> SegmenterConfig(extra_abbreviations=["Kemlu"]).extra_abbreviations
        ('Kemlu.',)
    """

    drop_boilerplate: bool = True
    extra_abbreviations: tuple[str, ...] = ()
    dedupe_repeated_blocks: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.extra_abbreviations, str):
            raise TypeError("extra_abbreviations must be a sequence of str, not a single str")
        abbrevs = tuple(self.extra_abbreviations)
        for abbr in abbrevs:
            if not isinstance(abbr, str) or not abbr.strip(". ") or any(ch.isspace() for ch in abbr):
                raise ValueError(f"invalid abbreviation {abbr!r}: expected a word such as 'Kemlu.'")
        normalised = tuple(a if a.endswith(".") else a + "." for a in abbrevs)
        object.__setattr__(self, "extra_abbreviations", normalised)


@dataclass(frozen=True)
class Sentence:
    """One unit of an article: a sentence, a headline, or a piece of boilerplate.

    Attributes:
        text: The unit as the classifier reads it: ``source[start:end]`` (surrounding whitespace
            trimmed) with markdown link, emphasis, heading and bullet syntax reduced to the visible
            words; identical to the slice when the unit has no markdown.
        start: Offset of its first character in the original text.
        end: Offset just after its last character.
        index: Position among all units (sentences and boilerplate), from 0.
        paragraph: Number of the non-empty line the unit belongs to, from 0.
        boilerplate: True for site furniture that should not be classified.
        reason: For boilerplate, the rule that matched (``"read_also"``, ``"credit"``, ``"kicker"``,
            ``"duplicate"``...); None otherwise.

    Example:
        >>> unit = segment("Menlu tiba. Reuters").units[1]
        >>> (unit.text, unit.start, unit.end, unit.boilerplate, unit.reason)
        ('Reuters', 12, 19, True, 'credit')
    """

    text: str
    start: int
    end: int
    index: int
    paragraph: int
    boilerplate: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Segmentation:
    """The units of one article. Length, iteration and indexing cover the sentences only.

    Attributes:
        text: The text the offsets point into: the input, or for an HTML page its extracted text.
        units: All units in document order, boilerplate included.
        page: For an HTML page, its extracted text and metadata (title, author, date, site); else None.

    Example:
        >>> seg = segment("Menlu tiba. Ia disambut.\\nShare:")
        >>> len(seg), seg[1].text, [b.text for b in seg.boilerplate]
        (2, 'Ia disambut.', ['Share:'])
        >>> print(seg)
        Segmentation(2 sentences, 1 boilerplate)
          [0] 0:11 p0  Menlu tiba.
          [1] 12:24 p0  Ia disambut.
        boilerplate:
          [2] 25:31 p1  (share) Share:
    """

    text: str = field(repr=False)
    units: tuple[Sentence, ...]
    page: Page | None = field(default=None, repr=False)

    @cached_property
    def sentences(self) -> tuple[Sentence, ...]:
        """The units to classify (non-boilerplate), in order."""
        return tuple(unit for unit in self.units if not unit.boilerplate)

    @cached_property
    def boilerplate(self) -> tuple[Sentence, ...]:
        """The units set aside as site furniture, in order."""
        return tuple(unit for unit in self.units if unit.boilerplate)

    @property
    def texts(self) -> list[str]:
        """The sentence texts, ready for a classifier."""
        return [unit.text for unit in self.sentences]

    def __len__(self) -> int:
        return len(self.sentences)

    def __iter__(self) -> Iterator[Sentence]:
        return iter(self.sentences)

    def __getitem__(self, item: int) -> Sentence:
        return self.sentences[item]

    def __repr__(self) -> str:
        lines = [f"Segmentation({len(self.sentences)} sentences, {len(self.boilerplate)} boilerplate)"]
        lines += [f"  [{u.index}] {u.start}:{u.end} p{u.paragraph}  {u.text}" for u in self.sentences]
        bp = self.boilerplate
        if bp:
            lines.append("boilerplate:")
            lines += [f"  [{u.index}] {u.start}:{u.end} p{u.paragraph}  ({u.reason}) {u.text}" for u in bp]
        return "\n".join(lines)

    __str__ = __repr__


def _check_text(text: object, func: str) -> str:
    if not isinstance(text, str):
        hint = "; decode bytes first" if isinstance(text, (bytes, bytearray)) else ""
        raise TypeError(f"{func}() expects a str, got {type(text).__name__}{hint}")
    return text


@lru_cache(maxsize=32)
def _abbreviations(extra: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """Return (all abbreviations, lowercased case-insensitive ones)."""
    every = frozenset(DEFAULT_ABBREVIATIONS + extra)
    return every, frozenset(a.lower() for a in every if a == a.lower())


def _is_abbreviation(token: str, abbrevs: tuple[frozenset[str], frozenset[str]]) -> bool:
    every, lower = abbrevs
    if token in every or token.lower() in lower:
        return True
    return token.isupper() and token.title() in every


def _is_blank(ch: str) -> bool:
    """Whitespace, control and format characters (NBSP, BOM, zero-width space) are trimmed off units."""
    if ch.isprintable():
        return ch == " "
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf")


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and _is_blank(text[start]):
        start += 1
    while end > start and _is_blank(text[end - 1]):
        end -= 1
    return start, end


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """Yield the (start, end) of every non-blank line, trimmed."""
    pos = 0
    for match in _LINE_BREAK_RE.finditer(text):
        start, end = _strip(text, pos, match.start())
        if start < end:
            yield start, end
        pos = match.end()
    start, end = _strip(text, pos, len(text))
    if start < end:
        yield start, end


def _ends_sentence(text: str, lo: int, term_start: int, term: str, abbrevs: tuple) -> bool:
    """Decide whether the terminator ``term`` at ``term_start`` ends the sentence begun at ``lo``."""
    word_start = term_start
    while word_start > lo and term_start - word_start <= _MAX_TOKEN and not text[word_start - 1].isspace():
        word_start -= 1
    token = text[word_start:term_start].lstrip(_OPENERS)
    if "…" in term or term.startswith(".."):
        return token.lower() in _ELLIPSIS_FURNITURE
    if term != ".":
        return True
    if not token:
        return True  # an orphan period left where a hyperlink was removed
    if _is_abbreviation(token + ".", abbrevs):
        return False
    if len(token) == 1 and token.isalpha() or _INITIALS_RE.fullmatch(token):
        return False  # initials: "H. Agus", "J.R. Smith", "U.S.A."
    return not (word_start == lo and token.isdigit() and len(token) <= 3)  # list item "1. ..."


def _split_line(text: str, start: int, end: int, abbrevs: tuple) -> Iterator[tuple[int, int]]:
    """Yield the trimmed sentence spans of one line ``text[start:end]``."""
    lo = start
    for match in _CANDIDATE_RE.finditer(text, start, end):
        ws_start, ws_end = match.span()
        if ws_end >= end:
            break
        nxt = text[ws_end]
        if not (nxt.isupper() or nxt.istitle() or nxt.isdigit() or nxt in _OPENERS):
            if not _FURNITURE_START_RE.match(text, ws_end, end):
                continue
        close = ws_start
        while close > lo and text[close - 1] in _CLOSERS:
            close -= 1
        term_start = close
        while term_start > lo and text[term_start - 1] in _TERMINATORS:
            term_start -= 1
        if term_start == close or not _ends_sentence(text, lo, term_start, text[term_start:close], abbrevs):
            continue
        span = _strip(text, lo, ws_start)
        if span[0] < span[1]:
            yield span
        lo = ws_end
    span = _strip(text, lo, end)
    if span[0] < span[1]:
        yield span


def _sentence_units(text: str, start: int, end: int, abbrevs: tuple) -> Iterator[_Unit]:
    for lo, hi in _split_line(text, start, end, abbrevs):
        yield from trim_edge_furniture(text, lo, hi)


def _line_units(text: str, start: int, end: int, abbrevs: tuple) -> list[_Unit]:
    """The units of one line: inline furniture cut out first, then sentences with edge furniture cut."""
    units: list[_Unit] = []
    pos = start
    for lo, hi, reason in find_inline_furniture(text, start, end):
        units += _sentence_units(text, pos, lo, abbrevs)
        units.append((lo, hi, reason))
        pos = hi
    units += _sentence_units(text, pos, end, abbrevs)
    return units


def _units_by_line(text: str, config: SegmenterConfig) -> _Lines:
    abbrevs = _abbreviations(config.extra_abbreviations)
    return [_line_units(text, start, end, abbrevs) for start, end in _lines(text)]


def split_sentences(text: str, config: SegmenterConfig | None = None) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` span of every unit, boilerplate included, without classifying it.

    Args:
        text: The article.
        config: Options; only ``extra_abbreviations`` matters here.

    Returns:
        Spans in document order such that ``text[start:end]`` is the trimmed unit.

    Raises:
        TypeError: ``text`` is not a ``str``.

    Example:
        >>> text = "Dr. Retno tiba pukul 10.30 WIB. “Ini penting,” katanya.\\nBaca juga: Lain"
        >>> [text[s:e] for s, e in split_sentences(text)]
        ['Dr. Retno tiba pukul 10.30 WIB.', '“Ini penting,” katanya.', 'Baca juga: Lain']
    """
    _check_text(text, "split_sentences")
    lines = _units_by_line(text, config or SegmenterConfig())
    return [(start, end) for line in lines for start, end, _ in line]


def _line_reasons(text: str, lines: _Lines, clean: list[list[str]], config: SegmenterConfig) -> list[list]:
    """Give each unit its boilerplate reason (None for content)."""
    reasons = [
        [cut or _unit_reason(text[s:e], c) for (s, e, cut), c in zip(line, texts)]
        for line, texts in zip(lines, clean)
    ]
    line_texts = [" ".join(texts) for texts in clean]
    furniture = [all(rs) for rs in reasons]
    links = [len(line) == 1 and rs == ["link"] for line, rs in zip(lines, reasons)]
    for pos in find_listing_lines(line_texts, furniture, links):
        reasons[pos] = [r or "read_also" for r in reasons[pos]]
    content = [i for i, rs in enumerate(reasons) if any(r is None for r in rs)]
    for pos in find_kicker_lines([line_texts[i] for i in content[:3]]):
        line = reasons[content[pos]]
        line[:] = [r or "kicker" for r in line]
    if config.dedupe_repeated_blocks:
        flat = [(i, j) for i, rs in enumerate(reasons) for j, r in enumerate(rs) if r is None]
        for pos in find_duplicates([clean[i][j] for i, j in flat]):
            i, j = flat[pos]
            reasons[i][j] = "duplicate"
    return reasons


def _unit_reason(raw: str, clean: str) -> str | None:
    if is_link_only(raw):
        return "link"
    return is_boilerplate(clean)


def segment(text: str, config: SegmenterConfig | None = None, *, format: str = "auto") -> Segmentation:
    """Split an article into sentence units with offsets, marking site furniture as boilerplate.

    Args:
        text: The article (any line-break convention; NBSP, tabs, emoji and control characters are fine):
            plain or scraped text, markdown from a page converter, or the HTML of a page.
        config: Options; see :class:`SegmenterConfig`. Default: ``SegmenterConfig()``.
        format: ``"text"`` (plain, scraped or markdown text), ``"html"`` (a web page: its main text
            is extracted first, see :func:`kontak_nlp.text.html.extract_page`) or ``"auto"`` (HTML
            when ``text`` starts like an HTML document).

    Returns:
        A :class:`Segmentation`; empty when ``text`` has no visible characters. For HTML, offsets
        point into the extracted text ``Segmentation.text``, and ``Segmentation.page`` has the metadata.

    Raises:
        TypeError: ``text`` is not a ``str``.
        ValueError: Unknown ``format``. InputError: an HTML page without article text.

    Example:
        >>> seg = segment("Konflik Korea\\nSeoul dan Tokyo Sepakat Bertemu Lagi\\nJAKARTA - Menlu Korea "
        ...               "Selatan bertemu Menlu Jepang. Keduanya membahas Korea Utara.\\nBaca juga: Lainnya")
        >>> [s.text for s in seg]  # doctest: +NORMALIZE_WHITESPACE
        ['Seoul dan Tokyo Sepakat Bertemu Lagi', 'JAKARTA - Menlu Korea Selatan bertemu Menlu Jepang.',
         'Keduanya membahas Korea Utara.']
        >>> [(b.text, b.reason) for b in seg.boilerplate]
        [('Konflik Korea', 'kicker'), ('Baca juga: Lainnya', 'read_also')]
    """
    _check_text(text, "segment")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    page = None
    if format == "html" or (format == "auto" and looks_like_html(text)):
        page = extract_page(text)
        text = page.text
    config = config or SegmenterConfig()
    lines = _units_by_line(text, config)
    clean = [[reduce_markup(text[s:e]) for s, e, _ in line] for line in lines]
    if config.drop_boilerplate:
        reasons = _line_reasons(text, lines, clean, config)
    else:
        reasons = [[None] * len(line) for line in lines]
    units: list[Sentence] = []
    for paragraph, (line, texts, line_reasons) in enumerate(zip(lines, clean, reasons)):
        for (start, end, _), unit_text, reason in zip(line, texts, line_reasons):
            units.append(Sentence(unit_text, start, end, len(units), paragraph, reason is not None, reason))
    return Segmentation(text, tuple(units), page)
