"""Positional furniture rules: a topic kicker above the headline, read-also and related-article
lists, and repeated blocks of a scraped page."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["find_duplicates", "find_kicker_lines", "find_listing_lines"]

_CONNECTORS = frozenset("vs vs. v x & - – dan di ke and of the in on".split())
_VERB_PREFIXES = ("me", "ber", "ter", "di")
_VERB_SUFFIXES = ("kan", "lah", "nya")
_HEADLINE_VERBS = frozenset(
    """akan bisa ingin siap harus telah sudah tak tidak yang ini itu jadi bahas tolak bantah minta desak
    temui tuding sebut ajak kecam dukung serang tiba gelar tunda batal pilih beri kirim terima capai sepakat
    buka tutup ungkap klaim ancam usul tawar tanggapi hadiri is are was were will says said meets meet
    calls call urges warns to""".split()
)


def _word_count(line: str) -> int:
    return len(line.split())


def _is_kicker_like(line: str) -> bool:
    """A short topic label: title-case words, no verb, no sentence punctuation."""
    words = line.split()
    if not 1 <= len(words) <= 5 or len(line) > 50 or any(ch in line for ch in '.,:;!?"“”()'):
        return False
    for word in words:
        low = word.lower()
        if low in _CONNECTORS or word[0].isdigit():
            continue
        if not word[0].isupper() or low in _HEADLINE_VERBS:
            return False
        if len(low) >= 6 and (low.startswith(_VERB_PREFIXES) or low.endswith(_VERB_SUFFIXES)):
            return False
    return True


def _is_headline_like(line: str, kicker: str) -> bool:
    """A headline: clearly longer than the kicker and not ending like a body paragraph."""
    body_end = line.rstrip("\"'”’)»").endswith(".")
    return not body_end and _word_count(line) >= _word_count(kicker) + 3


def find_kicker_lines(lines: Sequence[str]) -> set[int]:
    """Find topic-tag kicker lines at the top of an article.

    A kicker ("Konflik Rusia Vs Ukraina" above the headline) is one of the first two content lines,
    a short verbless title-case label, directly followed by a longer headline line that does not end
    with a period. Headings further down the article are never kickers.

    Args:
        lines: The article's non-empty lines (stripped), boilerplate lines already removed.

    Returns:
        The positions in ``lines`` of the kicker lines.

    Example:
        >>> sorted(find_kicker_lines(["Perang Dagang", "Menlu Bertemu Mitranya di Beijing Pekan Depan"]))
        [0]
        >>> sorted(find_kicker_lines(["Menlu Bertemu Mitra", "JAKARTA - Menlu bertemu mitranya hari ini."]))
        []
    """
    found: set[int] = set()
    for pos in range(min(2, len(lines) - 1)):
        if not _is_kicker_like(lines[pos]):
            break
        nxt = lines[pos + 1]
        if _is_headline_like(nxt, lines[pos]):
            found.update(range(pos + 1))
            break
        if not _is_kicker_like(nxt):
            break
    return found


def find_duplicates(texts: Sequence[str]) -> set[int]:
    """Find blocks that repeat earlier units, as when a scraped page repeats its body.

    A unit is a duplicate when it and its neighbour repeat an earlier pair of consecutive units.
    A single repeated unit is kept: reporters repeat a quotation, and short phrases recur.

    Args:
        texts: Unit texts in document order (content units only).

    Returns:
        Positions in ``texts`` of the later copies.

    Example:
        >>> sorted(find_duplicates(["Satu dua.", "Tiga empat.", "Lima.", "Satu dua.", "Tiga empat."]))
        [3, 4]
        >>> sorted(find_duplicates(["Satu dua tiga empat lima enam tujuh delapan.", "Lain.", "Satu dua tiga "
        ...                         "empat lima enam tujuh delapan."]))
        []
    """
    pairs: set[tuple[str, str]] = set()
    found: set[int] = set()
    for i in range(1, len(texts)):
        pair = (texts[i - 1], texts[i])
        if pair in pairs:
            found.update((i - 1, i))
        pairs.add(pair)
    return found


_LIST_HEADER_RE = re.compile(
    r"(?P<one>baca(?: juga)?|read(?: also| more)?|also read|lihat juga|see also|simak juga|baca pula)"
    r"|(?P<list>(?:berita|artikel) (?:terkait|terpopuler|pilihan|lainnya|rekomendasi)|related(?: \w+)?"
    r"|more(?: \w+){0,3}|recommended(?: \w+){0,2}|most (?:read|popular)|terpopuler|populer|rekomendasi)",
    re.IGNORECASE,
)
_MAX_LIST_ITEMS = 8


def _is_listed_headline(line: str) -> bool:
    stripped = line.rstrip("\"'”’)»")
    return not stripped.endswith((".", ":", ",", ";")) and _word_count(line) <= 20


def find_listing_lines(lines: Sequence[str], furniture: Sequence[bool], links: Sequence[bool]) -> set[int]:
    """Find the headlines that a read-also prompt or a related-articles heading lists below itself.

    A furniture line that is only a prompt (``Baca juga:``, ``Berita Terkait``, ``Related articles``)
    takes the lines after it: every line that is only links, plus headline-like lines (no final
    period, at most 20 words): one after a read-also prompt, up to eight after a list heading.

    Args:
        lines: The article's non-empty lines (markup reduced).
        furniture: Whether each line is already all furniture.
        links: Whether each line is nothing but markdown links.

    Returns:
        Positions of the listed lines.

    Example:
        >>> lines = ["Baca juga:", "Menlu Bertemu Mitranya di Tokyo", "Keduanya sepakat."]
        >>> sorted(find_listing_lines(lines, [True, False, False], [False] * 3))
        [1]
    """
    found: set[int] = set()
    for i, line in enumerate(lines):
        header = _LIST_HEADER_RE.fullmatch(line.strip().rstrip(" :–-").strip()) if furniture[i] else None
        if header is None:
            continue
        budget = 1 if header.lastgroup == "one" else _MAX_LIST_ITEMS
        for j in range(i + 1, len(lines)):
            if links[j]:
                found.add(j)
            elif not furniture[j] and budget > 0 and _is_listed_headline(lines[j]):
                found.add(j)
                budget -= 1
            else:
                break
    return found
