"""Web pages: the main article text and its metadata, extracted with trafilatura.

Navigation, related-article blocks, comment sections and footers are left out by the extractor;
what furniture remains inside the article body (an ``Advertisement`` line, a paywall notice) is
set aside by the segmenter like in any scraped text. Offsets of the units then point into
:attr:`Page.text`, which the results carry. Why trafilatura: ``docs/html-input.md``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from kontak_nlp.errors import InputError

__all__ = ["Page", "extract_page", "looks_like_html"]

_HTML_START_RE = re.compile(
    r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
_TAG_RE = re.compile(r"</(?:p|div|article|span|a|li|h[1-6])>", re.I)
_INSTALL_HINT = "HTML input needs the html extra: pip install 'kontak-nlp[html]'"


@dataclass(frozen=True)
class Page:
    """The main text of a web page with its metadata.

    Attributes:
        text: The headline, a blank line, then the article's paragraphs one per line. Unit offsets
            of a segmented page point into this text.
        title: The headline (None when the page has none).
        author: The byline's author(s), as the page declares them.
        date: The publication date, ``YYYY-MM-DD``.
        site: The site's name (``og:site_name`` or the like), else its host name.
        url: The page's address, when known.

    Example:
        >>> page = Page("Judul\\n\\nIsi.", title="Judul", site="Contoh")
        >>> page.metadata()["site"]
        'Contoh'
    """

    text: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    site: str | None = None
    url: str | None = None

    def metadata(self) -> dict[str, str | None]:
        """Title, author, date, site and URL as a dict (JSON-serialisable)."""
        fields = asdict(self)
        fields.pop("text")
        return fields


def looks_like_html(text: str) -> bool:
    """Whether ``text`` is an HTML document rather than article text.

    Example:
        >>> looks_like_html("<!DOCTYPE html><html><body><p>Menlu tiba.</p></body></html>")
        True
        >>> looks_like_html("Menlu tiba di <b>Tokyo</b>.")
        False
    """
    head = text[:4096].lstrip("\ufeff")
    if _HTML_START_RE.match(head):
        return True
    return head.lstrip().startswith("<") and len(_TAG_RE.findall(head)) >= 2


def _extract(html: str | bytes, url: str | None) -> Any:
    try:
        import trafilatura
    except ImportError as err:  # pragma: no cover - the extra is installed in the test environment
        raise ImportError(_INSTALL_HINT) from err
    return trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=True, include_images=False
    )


def extract_page(html: str | bytes, *, url: str | None = None) -> Page:
    """Extract the article text and metadata of an HTML page.

    Args:
        html: The page (``str``, or ``bytes`` in any declared or detectable encoding).
        url: Its address, used for metadata (site name, relative links) when given.

    Returns:
        A :class:`Page`; its ``text`` starts with the headline unless the page has none.

    Raises:
        InputError: ``html`` is not text or bytes, or no article text can be found in it.
        ImportError: trafilatura is not installed (``pip install 'kontak-nlp[html]'``).

    Example:
        >>> html = ("<html><head><title>Menlu Tiba di Hanoi</title></head><body><article>"
        ...         "<p>Menlu RI tiba di Hanoi pada Selasa untuk membahas batas laut kedua negara.</p>"
        ...         "<p>Ia disambut Wakil Menlu Vietnam di bandara dan langsung menuju kementerian.</p>"
        ...         "</article></body></html>")
        >>> extract_page(html).text.splitlines()[0]
        'Menlu Tiba di Hanoi'
    """
    if not isinstance(html, (str, bytes)):
        raise InputError(f"html has type {type(html).__name__}; expected str or bytes")
    where = url or "the HTML page"
    document = _extract(html, url)
    body = (document.text or "").strip() if document is not None else ""
    if not body:
        raise InputError(f"{where}: no article text found in the HTML")
    title = _clean(document.title)
    text = body if title is None or body.startswith(title) else f"{title}\n\n{body}"
    site = _clean(document.sitename) or _clean(document.hostname)
    return Page(text, title, _clean(document.author), _clean(document.date), site, url or document.url)


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None
