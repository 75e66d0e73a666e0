"""Surface features of a news sentence, for error slices and for comparing a corpus with real news.

The features are deliberately shallow (regular expressions over the text): they describe *where* a
model fails (quoted sentences, sentences with a speech verb, dated sentences, headlines...), and the
corpus tools use the same definitions to compare the training corpus with real news.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_QUOTES = re.compile(r"[\"“”„«»]")
_SPEECH = re.compile(
    r"\b(kata|katanya|mengatakan|dikatakan|ujar|ujarnya|ungkap|ungkapnya|mengungkapkan|tutur|tuturnya|"
    r"menegaskan|ditegaskan|menyatakan|dinyatakan|menjelaskan|jelasnya|menilai|dinilai|menyebut|"
    r"menyebutkan|imbuh|imbuhnya|menambahkan|tambahnya|berkata|menurutnya|katakan|"
    r"said|says|say|told|tells|added|adds|stated|declared|insisted|argued|warned)\b",
    re.IGNORECASE,
)
_DATE = re.compile(r"\(\s*\d{1,2}/\d{1,2}(?:/\d{2,4})?\s*\)")
_WEEKDAY = re.compile(
    r"\b(Senin|Selasa|Rabu|Kamis|Jumat|Jum'at|Sabtu|Minggu|Isnin|Khamis|Jumaat|Ahad|"
    r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
_CONNECTIVE = re.compile(
    r"^[\"“]?(Sementara itu|Hal ini|Hal itu|Adapun|Di sisi lain|Meski demikian|Meskipun demikian|"
    r"Namun|Akan tetapi|Selain itu|Menurut dia|Menurutnya|Dengan demikian|Sebelumnya|Sebagai informasi|"
    r"Untuk diketahui|Oleh karena itu|Karena itu|Kendati|Dalam pada itu|Justeru|Bagaimanapun|"
    r"Meski begitu|Meskipun begitu|Di samping itu|Padahal|Bahkan|Sebagai pembanding|Sebagai catatan|"
    r"Sejauh ini|Akibatnya|Sejak itu|Sebaliknya|Untuk itu|Langkah itu|Dengan begitu|Selanjutnya|"
    r"Meanwhile|However|Separately|In addition|The move|This comes|Earlier|But|Still|Instead|Yet|"
    r"By contrast|Even so|Despite that|In response|Nevertheless|Moreover)\b",
    re.IGNORECASE,
)
_SECOND_HAND = re.compile(
    r"\b(dikutip dari|mengutip|dilansir|melansir|seperti diberitakan|sebagaimana diberitakan|dipetik|"
    r"according to|quoted by|reported by|told the (?:bbc|agency|newspaper))\b",
    re.IGNORECASE,
)
_SOCIAL = re.compile(
    r"\b(akun|unggahan|mengunggah|cuitan|kicauan|postingan|Instagram|Twitter|Facebook|TikTok|Telegram|"
    r"media sosial|social media|posted on|a post on|hantaran)\b|\b(?:di|on|via) X\b",
    re.IGNORECASE,
)
_CONFLICT = re.compile(
    r"\b(perang|peperangan|serangan|menyerang|diserang|militer|tentara|tentera|pasukan|gencatan|sandera|"
    r"rudal|peluru|bom|tewas|terbunuh|korban jiwa|konflik|invasi|senjata|persenjataan|pertahanan|keamanan|"
    r"teror|teroris|militan|pengungsi|blokade|drone|nuklir|genosida|pembantaian|pertempuran|bentrok|"
    r"bentrokan|agresi|pendudukan|evakuasi|war|wars|attack|attacks|attacked|military|troops|ceasefire|"
    r"hostage|hostages|missile|missiles|killed|conflict|invasion|weapons|arms|defence|defense|security|"
    r"terror|terrorist|militant|militants|refugees?|blockade|nuclear|airstrikes?|shelling|genocide|"
    r"Gaza|Hamas|Houthi|Houthis|Hizbullah|Hezbollah|Rohingya)\b",
    re.IGNORECASE,
)
#: Well-known real leaders and ministers (2004-2026) as they are named in news; a rough realism measure.
_REAL_LEADERS = re.compile(
    r"\b(Prabowo|Jokowi|Joko Widodo|Sugiono|Retno|Gibran|Anwar Ibrahim|Trump|Biden|Obama|Xi Jinping|"
    r"Putin|Zelensky|Zelenskyy|Netanyahu|Guterres|Modi|Erdogan|Erdoğan|Macron|Starmer|Sunak|Albanese|"
    r"Lawrence Wong|Lee Hsien Loong|Kim Jong Un|Rubio|Lavrov|Wang Yi|Blinken|von der Leyen|Ishiba|"
    r"Takaichi|Kishida|Lee Jae-myung|Yoon Suk Yeol|Marcos|Shehbaz|Sharif|Abbas|Khamenei|Pezeshkian|"
    r"Araghchi|Blair|Bush|Mandelson|Straw|Merkel|Merz|Scholz|Lula|Ramaphosa|Tinubu|Hun Manet|"
    r"Paetongtarn|Anutin|Min Aung Hlaing|Tony Blair|Gordon Brown|Lutnick|Bessent|Greer|Witkoff)\b"
)

#: Feature names added to evaluation slices (column name -> feature), in report order.
FEATURE_SLICES: tuple[str, ...] = ("has_quote", "speech_verb", "dated", "short_row", "position")


def has_quote(text: str) -> bool:
    """True if the sentence contains a quotation mark.

    Example:
        >>> has_quote('"Kami menolak," kata dia.'), has_quote("Dia menolak.")
        (True, False)
    """
    return bool(_QUOTES.search(text))


def has_speech_verb(text: str) -> bool:
    """True if the sentence contains a speech verb (kata, mengatakan, ujar, menilai, said, told ...).

    Example:
        >>> has_speech_verb("Pembicaraan itu berguna, kata juru bicara."), has_speech_verb("Hujan.")
        (True, False)
    """
    return bool(_SPEECH.search(text))


def is_dated(text: str) -> bool:
    """True if the sentence carries an Indonesian-style ``(dd/mm/yyyy)`` or ``(dd/mm)`` date.

    Example:
        >>> is_dated("Menlu bertemu di Jakarta, Selasa (12/3/2025)."), is_dated("Pada 2025.")
        (True, False)
    """
    return bool(_DATE.search(text))


def is_connective_led(text: str) -> bool:
    """True if the sentence opens with a discourse connective (Sementara itu, Adapun, Meanwhile ...)."""
    return bool(_CONNECTIVE.search(text.strip()))


def is_short_row(text: str, max_words: int = 5) -> bool:
    """True for a row of at most ``max_words`` words (a subhead, a fragment, a question heading)."""
    return len(text.split()) <= max_words


def is_second_hand(text: str) -> bool:
    """True for second-hand attribution (dikutip dari, dilansir, according to ...)."""
    return bool(_SECOND_HAND.search(text))


def is_social_media(text: str) -> bool:
    """True if the sentence reports a social-media post or account."""
    return bool(_SOCIAL.search(text))


def is_conflict(text: str) -> bool:
    """True if the sentence is about conflict or security (war, attacks, troops, hostages ...)."""
    return bool(_CONFLICT.search(text))


def names_real_leader(text: str) -> bool:
    """True if the sentence names a well-known real leader or minister."""
    return bool(_REAL_LEADERS.search(text))


def position_bucket(sent_idx: Any) -> str:
    """The sentence's place in its article: headline (0), lead (1), 2-5, 6-15, 16+ or unknown.

    Example:
        >>> [position_bucket(i) for i in (0, 1, 4, 9, 30, None)]
        ['headline', 'lead', '2-5', '6-15', '16+', '(unknown)']
    """
    if sent_idx is None or isinstance(sent_idx, bool):
        return "(unknown)"
    try:
        index = int(sent_idx)
    except (TypeError, ValueError):
        return "(unknown)"
    if index <= 0:
        return "headline"
    if index == 1:
        return "lead"
    return "2-5" if index <= 5 else "6-15" if index <= 15 else "16+"


def feature_slices(texts: Sequence[str], positions: Sequence[Any] | None = None) -> dict[str, list[Any]]:
    """The feature slice columns for a list of sentences (``position`` only when positions are known).

    Example:
        >>> out = feature_slices(['"Kami siap," kata dia.', "Perang berlanjut (3/4)."], [0, 5])
        >>> out["has_quote"], out["dated"], out["position"]
        ([True, False], [False, True], ['headline', '2-5'])
    """
    out: dict[str, list[Any]] = {
        "has_quote": [has_quote(t) for t in texts],
        "speech_verb": [has_speech_verb(t) for t in texts],
        "dated": [is_dated(t) for t in texts],
        "short_row": [is_short_row(t) for t in texts],
    }
    if positions is not None:
        out["position"] = [position_bucket(p) for p in positions]
    return out
