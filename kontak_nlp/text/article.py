"""Whole articles: segment, drop site furniture, classify every sentence, keep char offsets.

An article can be text (plain, scraped or markdown), the HTML of a page, or a URL to fetch.
"""

from __future__ import annotations

import dataclasses
import html
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kontak_nlp.errors import InputError
from kontak_nlp.inference.texts import article_text
from kontak_nlp.text.fetch import FetchConfig, fetch_page
from kontak_nlp.text.html import Page
from kontak_nlp.text.segment import Sentence, segment

#: Background colours of the HTML view, one per default label (other labels get grey).
LABEL_COLOURS: dict[str, str] = {
    "meeting_report": "#cfe8ff",
    "position_statement": "#fff1c2",
    "demand": "#ffd0d0",
    "background": "#e6e6e6",
}


@dataclass(frozen=True)
class LabeledSentence:
    """One classified sentence of an article, with offsets into the article text."""

    text: str
    start: int
    end: int
    index: int
    paragraph: int
    label: str
    score: float
    scores: dict[str, float]


@dataclass(frozen=True)
class ArticleResult:
    """The classified sentences of one article plus the boilerplate that was dropped.

    Attributes:
        text: The text the offsets point into: the input text, or the text extracted from a page.
        sentences: The classified sentences, in order.
        boilerplate: The furniture set aside, each unit with its ``reason``.
        page: For HTML or a URL: title, author, date, site and URL (see :class:`~kontak_nlp.text.html.Page`).

    Example:
        >>> result = classify_article("JAKARTA - Menlu RI bertemu Menlu Jepang.")  # doctest: +SKIP
        >>> result.sentences[0].label  # doctest: +SKIP
        'meeting_report'
    """

    text: str
    sentences: tuple[LabeledSentence, ...]
    boilerplate: tuple[Sentence, ...]
    page: Page | None = None

    def __len__(self) -> int:
        return len(self.sentences)

    def __repr__(self) -> str:
        """A one-line summary (the article itself is in ``.text``; ``str()`` lists every sentence).

        Example:
            >>> ArticleResult("Menlu tiba. " * 50, (), ())  # doctest: +ELLIPSIS
            ArticleResult(0 sentences, 0 boilerplate, labels={}, text='Menlu tiba. Menlu...' (600 chars))
        """
        head = self.text[:36].replace("\n", " ")
        more = "..." if len(self.text) > 36 else ""
        title = f", title={self.page.title!r}" if self.page is not None and self.page.title else ""
        return (
            f"ArticleResult({len(self.sentences)} sentences, {len(self.boilerplate)} boilerplate, "
            f"labels={self.label_counts()}{title}, text={head + more!r} ({len(self.text)} chars))"
        )

    def __iter__(self) -> Any:
        return iter(self.sentences)

    def label_counts(self) -> dict[str, int]:
        """How many sentences got each label."""
        return dict(Counter(s.label for s in self.sentences))

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per sentence (boilerplate excluded), JSON-serialisable."""
        return [asdict(s) for s in self.sentences]

    def to_pandas(self) -> Any:
        """A DataFrame with one row per sentence, columns ``text, start, end, index, paragraph, label,
        score, scores`` (``start``/``end`` are character offsets into ``.text``)."""
        import pandas as pd

        return pd.DataFrame(self.to_records())

    def to_html(self) -> str:
        """The article with each sentence coloured by label and boilerplate struck through."""
        units = sorted([*self.sentences, *self.boilerplate], key=lambda u: u.start)
        parts, paragraph = [], None
        for unit in units:
            if paragraph is not None and unit.paragraph != paragraph:
                parts.append("<br/>")
            paragraph = unit.paragraph
            parts.append(_unit_html(unit))
        legend = " ".join(
            f'<span style="background:{c};padding:0 4px">{html.escape(name)}</span>'
            for name, c in LABEL_COLOURS.items()
        )
        body = " ".join(parts)
        return f'<div class="kontak-article" style="line-height:1.6">{body}<hr/><small>{legend}</small></div>'

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        lines = [f"[{s.start}:{s.end}] {s.label:<18} {s.score:.2f}  {s.text}" for s in self.sentences]
        lines += [f"[{b.start}:{b.end}] (boilerplate)  {b.text}" for b in self.boilerplate]
        return "\n".join(lines)


def _unit_html(unit: LabeledSentence | Sentence) -> str:
    text = html.escape(unit.text)
    if isinstance(unit, LabeledSentence):
        colour = LABEL_COLOURS.get(unit.label, "#dddddd")
        title = html.escape(f"{unit.label} ({unit.score:.2f})")
        return f'<span title="{title}" style="background:{colour}">{text}</span>'
    return f'<s title="boilerplate" style="color:#999">{text}</s>'


def classify_article(
    text: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    format: str = "auto",
    fetch_config: FetchConfig | None = None,
    model: Any = None,
    batch_size: int | None = None,
    device: str | None = None,
    top_k: int | None = None,
) -> ArticleResult:
    """Segment an article, drop its site furniture and classify each remaining sentence.

    Args:
        text: The article as one string: plain or scraped text, markdown, or a page's HTML; or a
            ``pathlib.Path`` to a UTF-8 file, which is read. A ``str`` that names an existing file
            raises :class:`~kontak_nlp.InputError` (pass ``Path(name)`` to read the file).
        url: Instead of ``text``, the address of a news page to fetch (HTML).
        format: ``"auto"``, ``"text"`` or ``"html"`` (see :func:`kontak_nlp.segment`).
        fetch_config: Timeout, size limit and user agent for ``url``.
        model: A :class:`~kontak_nlp.Classifier`, a model directory, or None for the default model
            (loaded by :func:`kontak_nlp.load` with the default runtime options unless ``device``).

    Raises:
        InputError: Neither or both of ``text`` and ``url``; ``text`` not a str or path, a file name
            given as a str, an unreadable file; a page without text.
        FetchError: ``url`` could not be fetched (the message says why).

    Example:
        >>> import kontak_nlp
        >>> article = "Menlu RI Terima Dubes Jepang\\n\\nJAKARTA - Menlu RI menerima Dubes Jepang."
        >>> kontak_nlp.classify_article(article).label_counts()  # doctest: +SKIP
        {'meeting_report': 2}
        >>> kontak_nlp.classify_article(url="https://example.com/berita/1").page.title  # doctest: +SKIP
        'Menlu RI Terima Dubes Jepang'
    """
    if (text is None) == (url is None):
        raise InputError("classify_article needs exactly one of text or url=")
    if url is not None:
        page = fetch_page(url, fetch_config)
        seg = dataclasses.replace(segment(page.text, format="text"), page=page)
    else:
        seg = segment(article_text(text), format=format)
    sentences = list(seg.sentences)
    labeled: list[LabeledSentence] = []
    if sentences:
        from kontak_nlp.api import load
        from kontak_nlp.inference.context import article_contexts

        clf = load(model, device=device)
        texts = [s.text for s in sentences]
        contexts = article_contexts(texts) if getattr(clf, "uses_context", False) else None
        predictions = clf.classify(texts, context=contexts, top_k=top_k, batch_size=batch_size)
        labeled = [
            LabeledSentence(s.text, s.start, s.end, s.index, s.paragraph, p.label, p.score, p.scores)
            for s, p in zip(sentences, predictions)
        ]
    return ArticleResult(seg.text, tuple(labeled), tuple(seg.boilerplate), seg.page)


def read_example_article() -> str:
    """The invented example article bundled with the package (used by the README quick start)."""
    return (Path(__file__).parent.parent / "resources" / "example_article_id.txt").read_text(encoding="utf-8")
