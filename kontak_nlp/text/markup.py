"""Markdown syntax in scraped text: reduce it to what a reader sees, so the classifier gets clean text.

Page-to-markdown converters keep links (``[text](url)``), emphasis (``**bold**``, ``_italic_``),
headings (``## ...``), quotes (``> ...``) and list bullets. :func:`reduce_markup` keeps the visible
words and drops the syntax; the unit's offsets still point at the original span, syntax included.
Images and media placeholders are furniture, cut out before this (see
:func:`kontak_nlp.text.boilerplate.find_inline_furniture`).
"""

from __future__ import annotations

import re

__all__ = ["is_link_only", "reduce_markup"]

_URL_PART = r"\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"\n]*\")?\)"
_LINK_RE = re.compile(rf"(?<!!)\[([^\[\]\n]*)\](?:{_URL_PART}|\[[^\[\]\n]*\])")
_AUTOLINK_RE = re.compile(r"<((?:https?://|mailto:)[^>\s]+)>")
_STRONG_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EM_STAR_RE = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])")
_EM_UNDERSCORE_RE = re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]+?)(?<=[^\s_])_(?![\w_])")
_STRIKE_RE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_CODE_RE = re.compile(r"`([^`\n]+)`")
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|])")
_LINE_START_RE = re.compile(r"^(?:#{1,6}\s+|(?:>\s*)+|[-*+•]\s+)+")
_SPACES_RE = re.compile(r"[ \t]{2,}")
_MARKUP_CHARS = frozenset("[]*_#>`\\<~-+•")
_BULLET = r"(?:[-*+•]\s+|\d{1,3}[.)]\s+)?"
_LINK_ONLY_RE = re.compile(rf"{_BULLET}(?:#{1, 6}\s+)?(?:\[[^\[\]\n]+\]{_URL_PART}[\s|,·•/-]*)+")


def reduce_markup(text: str) -> str:
    """Return ``text`` with markdown link, emphasis, heading, quote and bullet syntax removed.

    Args:
        text: One unit of scraped text.

    Returns:
        The visible text; ``text`` itself when it carries no markdown.

    Example:
        >>> reduce_markup("**JAKARTA** - Menlu [Sari Dewi](https://contoh.id/sari) tiba di _Tokyo_.")
        'JAKARTA - Menlu Sari Dewi tiba di Tokyo.'
        >>> reduce_markup("## Fokus Pertemuan")
        'Fokus Pertemuan'
    """
    if not _MARKUP_CHARS.intersection(text):
        return text
    out = _LINK_RE.sub(r"\1", text)
    out = _AUTOLINK_RE.sub(r"\1", out)
    out = _CODE_RE.sub(r"\1", out)
    out = _STRONG_RE.sub(r"\2", out)
    out = _STRIKE_RE.sub(r"\1", out)
    out = _EM_STAR_RE.sub(r"\1", out)
    out = _EM_UNDERSCORE_RE.sub(r"\1", out)
    out = _ESCAPE_RE.sub(r"\1", out)
    out = _LINE_START_RE.sub("", out)
    if out == text:
        return text
    out = _SPACES_RE.sub(" ", out).strip()
    return out or text


def is_link_only(text: str) -> bool:
    """Whether a unit is nothing but markdown links (a related-article or navigation list item).

    Example:
        >>> is_link_only("- [Menlu Bertemu Mitranya](https://contoh.id/berita/1)")
        True
        >>> is_link_only("Menlu [bertemu](https://contoh.id/1) mitranya.")
        False
    """
    return "](" in text and _LINK_ONLY_RE.fullmatch(text.strip()) is not None
