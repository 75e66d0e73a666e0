"""Rules that recognise news-site furniture (boilerplate) among segmented units.

The rules are generic: they describe what Indonesian, Malay and English news pages put around an
article (read-also links, share buttons, image paths, photo credits, bylines, press-release
disclaimers, comment notices, subscription prompts, tag lists). Context-free rules live in
:func:`is_boilerplate`; the positional ones (a topic kicker above the headline, repeated blocks of a
scraped page) are :func:`find_kicker_lines` and :func:`find_duplicates`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["find_duplicates", "find_kicker_lines", "is_boilerplate"]

#: Wire services and outlets whose name, alone on a unit, is a source credit.
OUTLETS: tuple[str, ...] = tuple(
    "Reuters|AFP|AP|Associated Press|Aljazeera|Al Jazeera|Al-Jazeera|Antara|Bernama|Xinhua|Kyodo|Yonhap|"
    "TASS|RIA Novosti|Sputnik|Interfax|DPA|EFE|ANSA|ANI|PTI|Anadolu|Anadolu Agency|IRNA|WAFA|CNA|CNN|BBC|"
    "VOA|Bloomberg|NHK|Arab News|Al-Arabiya|Al Arabiya|The Guardian|Kompas|Kompas.com|Tempo|Tempo.co|"
    "Detik|detikcom|Tribunnews|Tribunnews.com|Okezone|Sindonews|Republika|Liputan6|Liputan6.com|Kumparan|"
    "JPNN|CNBC Indonesia|CNN Indonesia|Suara.com|VIVA|Jakarta Post|The Jakarta Post|The Star|Malaysiakini|"
    "Berita Harian|Utusan|Astro Awani|Sinar Harian|Harian Metro|Straits Times|The Straits Times".split("|")
)
_OUTLET = "|".join(re.escape(name) for name in sorted(OUTLETS, key=len, reverse=True))
_IMAGE_EXT = r"(?:jpe?g|png|gif|webp|svg|bmp|tiff?|avif|heic)"
_PHOTO = r"(?:foto|photo|gambar|image|ilustrasi|illustration|kredit foto|photo credit|dok\.?|dokumentasi)"

# (reason, pattern): the first pattern that matches the whole unit gives the reason.
_FULL_PATTERNS = (
    ("read_also", r"(?:baca|simak|lihat|tonton|saksikan|read|see|watch)\s+(?:juga|pula|also|more)\b.*"),
    (
        "read_also",
        r"also (?:read|see|watch)\s*:.*|(?:simak|baca) (?:berita|artikel|informasi)\b.{0,60}"
        r"\b(?:lainnya|terkini|terbaru|selengkapnya)\b[^.!?]*",
    ),
    (
        "read_also",
        r"(?:baca|read|tonton|watch|simak)\s*:.*|(?:baca|lihat|simak) selengkapnya\b.*"
        r"|(?:artikel|berita) (?:terkait|lainnya)\s*:?.*|related(?: articles?)?\s*:.*",
    ),
    ("share", r"(?:share|bagikan|kongsi|kongsikan)(?: (?:this|artikel ini|berita ini|on \w+))?\s*:?"),
    ("loading", r"(?:loading|memuat|memuatkan|please wait|mohon tunggu)\s*(?:\.{2,}|…)?"),
    ("font_size", r"(?-i:(?:A[+-]?|Aa)(?:\s+(?:A[+-]?|Aa))*)"),
    ("image", rf"!\[[^\]\n]*\]\([^)\n]*\)|\S*\.{_IMAGE_EXT}(?:\?\S*)?\)?|https?://\S+|www\.\S+"),
    ("caption", rf"[(\[]?{_PHOTO}\s*(?::|/|\s-\s).*"),
    (
        "credit",
        rf"[(\[]?\s*(?:[-–—]{1, 2}\s*)?(?:(?:sumber|source|via)\s*:?\s*)?(?:{_OUTLET})"
        rf"(?:\s*[/,&]\s*(?:{_OUTLET}|[a-z]{{2,5}}))*\s*[)\]]?\.?",
    ),
    ("editor_initials", r"[(\[]\s*[a-z*]{1,6}(?:\s*/\s*[a-z*]{1,10})*\s*[)\]]\.?"),
    (
        "byline",
        r"(?:editor|penulis|reporter|pewarta|penyunting|redaktur|wartawan|kontributor|writer|author|oleh"
        r"|penerjemah|translator|sumber|source)\s*:\s*[^.!?]{0,80}",
    ),
    ("byline", r"(?:editing|reporting|writing|additional reporting) by\b.*|laporan wartawan .{0,100}(?<!\.)"),
    ("press_release", r"(?:sektor|sector|kategori|category|industri|industry)\s*:.*"),
    (
        "press_release",
        r"[(\[]?biro (?:pers|hubungan masyarakat|humas|komunikasi|kerja sama)\b[^.!?]{0,140}[)\]]?",
    ),
    ("byline", r"(?:first )?(?:published|diterbitkan|terbit) (?:in|di|on|pada)\b[^.!?]{0,80}"),
    ("tags", r"(?:tags?|topik|topic|label|kata kunci|keywords?)\s*:.*|#\w+(?:[\s,]+#\w+)*"),
    (
        "copyright",
        r"(?:copyright|©|\(c\)).*|hak cipta\s*(?:©|\(c\)|\d{4}|dilindungi).*|.*all rights reserved\.?",
    ),
    (
        "advert",
        r"advertisement|iklan|ads|sponsored|scroll (?:to continue|untuk melanjutkan)(?: with content)?",
    ),
    ("advert", r"(?:lanjutkan membaca|continue reading|artikel berlanjut)\W*"),
    (
        "navigation",
        r"(?:halaman|page) (?:selanjutnya|berikutnya|next)|(?:selanjutnya|next page|berikutnya)\W*",
    ),
    ("navigation", r"halaman(?: \d+)+|lihat foto|klik di ?sini.*|click here.*"),
)
# (reason, pattern): notices with distinctive wording, searched anywhere in the unit.
_SEARCH_PATTERNS = (
    ("press_release", r"penyedia konten pihak ketiga|third[- ]party content provider"),
    ("press_release", r"tidak memberikan jaminan atau pernyataan|makes? no (?:warranties|representations?)"),
    ("press_release", r"distribusi siaran pers|press[- ]release distribution|pengedaran siaran akhbar"),
    ("press_release", r"^siaran (?:pers|akhbar) ini (?:diterbitkan|disiarkan|dirilis|dikeluarkan)\b"),
    ("comment", r"^isi komentar|komentar (?:anda )?(?:sepenuhnya )?(?:adalah |menjadi )?tanggung ?jawab"),
    ("comment", r"comments? (?:are|is) the (?:sole )?responsibility|^(?:tulis|kirim|beri(?:kan)?) komentar"),
    ("comment", r"^login untuk berkomentar"),
    ("subscribe", r"^(?:subscribe|berlangganan|langganan|follow us|ikuti kami|sertai kami)\b"),
    (
        "subscribe",
        r"^(?:ikuti|follow|dapatkan|get|sertai|join|gabung)\b.{0,100}\b(?:google news|whatsapp"
        r"|telegram|instagram|tiktok|youtube|twitter|facebook|newsletter)\b",
    ),
    ("subscribe", r"\bsubscribe (?:to|now)\b|sign up (?:for|to) (?:our|the) newsletter"),
    ("subscribe", r"^follow\b.{0,60}\bcoverage\b"),
)


def _compile(rules: tuple[tuple[str, str], ...], flags: int = 0) -> re.Pattern[str]:
    """One alternation with a named group per reason, tried in order (one regex call per unit)."""
    merged: dict[str, list[str]] = {}
    for reason, pattern in rules:
        merged.setdefault(reason, []).append(pattern)
    alternatives = (f"(?P<{reason}>{'|'.join(patterns)})" for reason, patterns in merged.items())
    return re.compile("|".join(alternatives), flags)


_FULL_RE = _compile(_FULL_PATTERNS, re.IGNORECASE)
_SEARCH_RE = _compile(_SEARCH_PATTERNS)  # applied to lowercased text
# Cheap substring gate: the search patterns can only match a text that contains one of these.
_SEARCH_TRIGGERS = tuple(
    "pihak ketiga|third|jaminan|warrant|representation|siaran|akhbar|komentar|comment|subscri|langganan|"
    "follow us|ikuti kami|sertai kami|google news|whatsapp|telegram|instagram|tiktok|youtube|twitter|"
    "facebook|newsletter".split("|")
)
_ALNUM_RE = re.compile(r"[^\W_]")


def is_boilerplate(unit_text: str) -> str | None:
    """Say whether one unit is site furniture, judged on its text alone.

    Args:
        unit_text: The unit, as :func:`kontak_nlp.segment.segment` cuts it (surrounding space is ignored).

    Returns:
        The name of the rule that matched (``"read_also"``, ``"share"``, ``"loading"``, ``"font_size"``,
        ``"image"``, ``"caption"``, ``"credit"``, ``"editor_initials"``, ``"byline"``, ``"press_release"``,
        ``"comment"``, ``"subscribe"``, ``"tags"``, ``"copyright"``, ``"advert"``, ``"navigation"``,
        ``"decoration"``), or None for a content sentence.

    Example:
        >>> is_boilerplate("Baca juga: Menlu Bertemu Mitranya di Tokyo")
        'read_also'
        >>> is_boilerplate("(Foto: Reuters)")
        'caption'
        >>> is_boilerplate("Menlu Jepang bertemu Menlu Korea Selatan di Tokyo.") is None
        True
    """
    text = unit_text.strip()
    if not text:
        return None
    if not _ALNUM_RE.search(text):
        return "decoration"
    match = _FULL_RE.fullmatch(text) if len(text) <= 300 else None
    if match is None:
        head = text[:2000].lower()
        if any(trigger in head for trigger in _SEARCH_TRIGGERS):
            match = _SEARCH_RE.search(head)
    return match.lastgroup if match else None


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


def find_duplicates(texts: Sequence[str], *, min_words: int = 8) -> set[int]:
    """Find units that repeat earlier units, as when a scraped page repeats its body.

    A unit is a duplicate when its exact text occurred earlier and it is long (``min_words`` words
    or more), or when it and its neighbour repeat an earlier pair of consecutive units.

    Args:
        texts: Unit texts in document order (content units only).
        min_words: A single repeated unit shorter than this is kept (short phrases recur naturally).

    Returns:
        Positions in ``texts`` of the later copies.

    Example:
        >>> sorted(find_duplicates(["Satu dua.", "Tiga empat.", "Lima.", "Satu dua.", "Tiga empat."]))
        [3, 4]
    """
    seen: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    found: set[int] = set()
    for i, text in enumerate(texts):
        if text in seen and _word_count(text) >= min_words:
            found.add(i)
        if i and (texts[i - 1], text) in pairs:
            found.update((i - 1, i))
        seen.add(text)
        if i:
            pairs.add((texts[i - 1], text))
    return found
