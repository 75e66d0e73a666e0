"""Rules that recognise news-site furniture (boilerplate) in scraped article text.

The rules are generic: they describe what Indonesian, Malay and English news pages put around an
article (read-also links, video and podcast prompts, share buttons, images and media placeholders,
photo credits, bylines and syndication lines, ads, press-release disclaimers, comment notices,
subscription and paywall prompts, tag lists, navigation). Three kinds of rule:

* :func:`is_boilerplate` judges a whole unit by its text;
* :func:`find_inline_furniture` finds furniture anywhere in a line (markdown images, media
  placeholders such as ``[video.1]``, bare image URLs), so it can be cut out before sentences are split;
* :func:`trim_edge_furniture` cuts furniture glued to the start or end of a sentence (an
  ``Advertisement`` marker, a photo credit such as ``(Foto: Kemlu RI)``), keeping the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["OUTLETS", "find_inline_furniture", "is_boilerplate", "trim_edge_furniture"]

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
# A photo credit in brackets: "(Foto: Kemlu RI)", "(dok. Kemlu RI)", "(KOMPAS.com/ANTARA FOTO)",
# "(REUTERS/Jane Doe)"; and without brackets: "ANTARA FOTO/Jane Doe/abc.", "REUTERS/Jane Doe".
_PHOTO_AGENCY = (
    r"(?-i:ANTARA|REUTERS|Reuters|AFP|AP|EPA|EPA-EFE|XINHUA|Xinhua|ANADOLU|Getty Images|Bloomberg)"
)
# Who a bracketed credit names before its slash: a wire service, an outlet or a news site's domain.
_AGENCY = (
    rf"(?:{_OUTLET}|{_PHOTO_AGENCY}|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|id|net|org))"
    r"(?: (?:FOTO|PHOTO|Foto|Photo|Images))?"
)
_BRACKET_CREDIT = (
    rf"[(\[]\s*(?:{_PHOTO}\s*[:/.]?\s*[^()\[\]\n]{{1,80}}"
    rf"|[^()\[\]\n/]{{1,40}}(?:foto|photo|\.com|\.co\.id|images)\s*/[^()\[\]\n]{{1,60}}"
    rf"|{_AGENCY}\s*/\s*[^()\[\]\n]{{1,60}}|[^()\[\]\n/]{{1,40}}\s(?:photo|foto))[)\]]"
)
_NAME = r"(?-i:[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3})"
_PHOTO_CREDIT = (
    rf"{_BRACKET_CREDIT}"
    rf"|(?-i:[A-Z][A-Za-z.]*(?: [A-Z][A-Za-z.]*)?) ?(?:foto|photo)\s*/\s*[^/\n]{{1,60}}"
    rf"(?:/\s*[a-z]{{2,6}}\.?)?"
    rf"|{_PHOTO_AGENCY}(?: FOTO)?\s*/\s*{_NAME}(?:/\s*[a-z]{{2,6}}\.?)?"
    rf"|{_NAME}\s*/\s*{_PHOTO_AGENCY}(?: via Getty Images)?"
)
_ADVERT_MARKER = (
    r"(?-i:ADVERTISEMENT|Advertisement"
    r"|SCROLL TO (?:CONTINUE|RESUME)(?: WITH CONTENT| CONTENT)?(?! WITH| CONTENT)"
    r"|Scroll to (?:continue|resume)(?: with content| content)?(?! with| content)|SCROLL UNTUK MELANJUTKAN"
    r"|Scroll untuk melanjutkan|ADVERTORIAL|IKLAN)"
)
_PLACEHOLDER = (
    r"\[(?:video|vid|img|image|images|foto|photo|gambar|audio|embed|iframe|galeri|gallery|infografi[sc]"
    r"|infographic|tweet|twitter|instagram|youtube|tiktok|podcast|ads?|advert|iklan|widget|poll|polling)"
    r"(?:[ ._:#-]?\d+)?\]"
)
_MD_IMAGE = r"!\[[^\[\]\n]{0,3000}\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"\n]*\")?\)"
_IMAGE_URL = rf"(?<!\S)(?:https?://|www\.)\S+?\.{_IMAGE_EXT}(?:[?#]\S*)?(?=\s|$)"
_SHARE_TARGET = (
    r"(?:facebook|fb|twitter|x|whatsapp|wa|telegram|line|linkedin|pinterest|threads|email|e-mail"
    r"|copy link|salin tautan|salin link|link|tweet)"
)

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
    (
        "read_also",
        r"(?:berita|artikel) (?:terkait|terpopuler|pilihan|rekomendasi)|related (?:articles?|stories|news)"
        r"|(?:more|recommended|most read|terpopuler|populer|rekomendasi)(?: (?:stories|for you|news))?\W*",
    ),
    (
        "promo",
        r"(?:simak|saksikan|tonton|dengarkan|nonton|watch|listen(?: to)?)\b.{0,160}\b(?:video|podcast"
        r"|selengkapnya|siaran langsung|tayang(?:an)?|live|streaming|youtube|episode)\b.*",
    ),
    (
        "share",
        rf"(?:share|bagikan|kongsi|kongsikan)(?: (?:this|artikel ini|berita ini|on \w+))?\s*:?"
        rf"(?:[\s,|/·•]*{_SHARE_TARGET})*[\s,|/·•]*|{_SHARE_TARGET}(?:[\s,|/·•]+{_SHARE_TARGET})+",
    ),
    ("loading", r"(?:loading|memuat|memuatkan|please wait|mohon tunggu)\s*(?:\.{2,}|…)?"),
    ("font_size", r"(?-i:(?:A[+-]?|Aa)(?:\s+(?:A[+-]?|Aa))*)"),
    ("image", rf"{_MD_IMAGE}|\S*\.{_IMAGE_EXT}(?:\?\S*)?\)?"),
    ("media", rf"{_PLACEHOLDER}|\(?(?:video|foto|photo|gallery|galeri)\)?"),
    ("link", r"https?://\S+|www\.\S+"),
    ("caption", rf"[(\[]?{_PHOTO}\s*(?::|/|\s-\s).*|(?:{_PHOTO_CREDIT})\.?"),
    (
        "credit",
        rf"[(\[]?\s*(?:[-–—]{{1,2}}\s*)?(?:(?:sumber|source|via)\s*:?\s*)?(?:{_OUTLET})"
        rf"(?:\s*[/,&]\s*(?:{_OUTLET}|[a-z]{{2,5}}))*\s*[)\]]?\.?",
    ),
    (
        "credit",
        r"(?:artikel|berita|tulisan|konten) ini (?:telah |sudah |juga |pertama kali |sebelumnya )*(?:tayang"
        r"|terbit|dimuat|diterbitkan|dipublikasikan)\b.*|this (?:article|story) (?:was |has been |first "
        r"|originally )*(?:published|appeared)\b.*|(?:originally|first) published (?:in|on|by|at)\b.*",
    ),
    ("editor_initials", r"[(\[]\s*[a-z*]{1,6}(?:\s*/\s*[a-z*]{1,10})*\s*[)\]]\.?"),
    (
        "byline",
        r"(?:editor|penulis|reporter|pewarta|penyunting|redaktur|wartawan|kontributor|writer|author|oleh"
        r"|penerjemah|translator|sumber|source)\s*:\s*[^.!?]{0,80}",
    ),
    ("byline", r"(?:editing|reporting|writing|additional reporting) by\b.*|laporan wartawan .{0,100}(?<!\.)"),
    (
        "byline",
        r"[(\[]\s*(?:sumber|source|editor|penulis|reporter|pewarta|penyunting)\s*:[^()\[\]\n]{0,160}[)\]]\.?"
        r"|(?:by|oleh) (?-i:[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3})(?:,? (?:and|dan|&) (?-i:[A-Z][\w.'-]*"
        r"(?: [A-Z][\w.'-]*){0,3}))?",
    ),
    ("press_release", r"(?:sektor|sector|kategori|category|industri|industry)\s*:.*"),
    (
        "press_release",
        r"[(\[]?biro (?:pers|hubungan masyarakat|humas|komunikasi|kerja sama)\b[^.!?]{0,140}[)\]]?",
    ),
    ("byline", r"(?:first )?(?:published|diterbitkan|terbit) (?:in|di|on|pada)\b[^.!?]{0,80}"),
    (
        "timestamp",
        r"(?:(?:senin|selasa|rabu|kamis|jumat|jum'at|sabtu|minggu|ahad|monday|tuesday|wednesday|thursday"
        r"|friday|saturday|sunday),?\s*)?(?:\d{1,2}\s+[a-z]{3,9}\.?|[a-z]{3,9}\.?\s+\d{1,2},?)\s+\d{4}"
        r"(?:[\s,|-]+(?:pukul\s+)?\d{1,2}[:.]\d{2}(?:\s*(?:wib|wita|wit|gmt|utc|bst|et|am|pm))?)?"
        r"|(?:updated|diperbarui|published|dipublikasikan)"
        r"\s*:?\s*(?:\d+ (?:minutes?|hours?|days?|menit|jam|hari) (?:ago|yang lalu)|.{0,40}\d{4}.{0,20})",
    ),
    ("tags", r"(?:tags?|topik|topic|label|kata kunci|keywords?)\s*:.*|#\w+(?:[\s,]+#\w+)*"),
    (
        "copyright",
        r"(?:copyright|©|\(c\)).*|hak cipta\s*(?:©|\(c\)|\d{4}|dilindungi).*|.*all rights reserved\.?",
    ),
    (
        "advert",
        r"advertisement|iklan|ads|sponsored|advertorial|sponsored content|konten (?:bersponsor|sponsor)"
        r"|scroll (?:to (?:continue|resume)|untuk melanjutkan)(?: with content| content)?",
    ),
    ("advert", r"(?:lanjutkan membaca|continue reading|artikel berlanjut)\W*"),
    (
        "navigation",
        r"(?:halaman|page) (?:selanjutnya|berikutnya|next)|(?:selanjutnya|next page|berikutnya)\W*",
    ),
    ("navigation", r"halaman(?: \d+)+|lihat foto|klik di ?sini.*|click here.*"),
    (
        "navigation",
        r"(?:home|beranda|news|berita)\s*[>»›].*|skip to (?:main )?content|(?:sign|log) ?in|masuk|daftar"
        r"|home|beranda"
        r"|menu|search|cari|(?:[\w&' -]{1,25}\s*[|·•]\s*){2,}[\w&' -]{1,25}",
    ),
    (
        "comment",
        r"(?:\d+\s+)?(?:comments?|komentar)(?:\s*\(\d+\))?|(?:leave|post|add|write|show|view|load|lihat|tulis"
        r"|kirim|beri) (?:a |more |all |the )?(?:comments?|komentar)\b.*",
    ),
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
    (
        "paywall",
        r"(?:subscribe|berlangganan|langganan|log ?in|masuk|sign in) (?:to|untuk|now to) (?:continue|keep"
        r"|read|unlock|melanjutkan|membaca)|already a (?:subscriber|member)"
        r"|sudah (?:berlangganan|menjadi pelanggan)|(?:for|to|untuk) (?:subscribers|pelanggan|members"
        r"|premium members) only|khusus (?:untuk )?(?:pelanggan|member|anggota)"
        r"|you have (?:\d+|one|no) free (?:articles?|stories)|artikel gratis (?:anda|kamu)",
    ),
    ("subscribe", r"^(?:subscribe|berlangganan|langganan|follow us|ikuti kami|sertai kami)\b"),
    (
        "subscribe",
        r"^(?:ikuti|follow|dapatkan|get|sertai|join|gabung|simak|pantau|update|cek|kunjungi|klik|unduh"
        r"|download)\b.{0,100}\b(?:google news|whatsapp"
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
    "facebook|newsletter|coverage|free|gratis|pelanggan|member|sign in|log in|login|masuk untuk|"
    "khusus".split("|")
)
_TRIGGER_RE = re.compile("|".join(map(re.escape, _SEARCH_TRIGGERS)))
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
        if _TRIGGER_RE.search(head):
            match = _SEARCH_RE.search(head)
    return match.lastgroup if match else None


_INLINE_RE = re.compile(rf"(?P<image>{_MD_IMAGE}|{_IMAGE_URL})|(?P<media>{_PLACEHOLDER})", re.IGNORECASE)
_LEAD_RE = re.compile(
    rf"(?:(?P<advert>{_ADVERT_MARKER})|(?P<caption>{_BRACKET_CREDIT}))(?=\s+\S)", re.IGNORECASE
)
_TRAIL_RE = re.compile(
    rf"(?<=\s)(?:(?P<advert>{_ADVERT_MARKER})|(?P<caption>{_BRACKET_CREDIT}[.!?]?))$", re.IGNORECASE
)
_TRAIL_WINDOW = 200
_STOPS = (".", "!", "?", "…")
_QUOTES = "\"'”’»)"


def find_inline_furniture(
    text: str, start: int = 0, end: int | None = None
) -> Iterator[tuple[int, int, str]]:
    """Find furniture that can sit anywhere in a line, even glued to words: markdown images, bare
    image URLs and media placeholders (``[video.1]``, ``[img.2]``).

    Args:
        text: The whole text.
        start: Where the line starts.
        end: Where the line ends (default: the end of ``text``).

    Yields:
        ``(start, end, reason)`` of each piece, in order; ``reason`` is ``"image"`` or ``"media"``.

    Example:
        >>> text = "[img.2]Menlu tiba. ![Menlu di Tokyo](https://contoh.id/a.jpg)"
        >>> [(text[s:e], why) for s, e, why in find_inline_furniture(text)]
        [('[img.2]', 'media'), ('![Menlu di Tokyo](https://contoh.id/a.jpg)', 'image')]
    """
    end = len(text) if end is None else end
    if "[" not in text[start:end] and "." not in text[start:end]:
        return
    for match in _INLINE_RE.finditer(text, start, end):
        yield match.start(), match.end(), str(match.lastgroup)


def trim_edge_furniture(text: str, start: int, end: int) -> list[tuple[int, int, str | None]]:
    """Cut furniture glued to the start or end of one sentence, keeping the sentence.

    An ``Advertisement`` or ``SCROLL TO CONTINUE`` marker and photo credits (``(Foto: Kemlu RI)``,
    ``(KOMPAS.com/ANTARA FOTO)``, ``ANTARA FOTO/Jane Doe/abc.``) are cut off; a credit at the end
    takes the sentence's final period with it.

    Args:
        text: The whole text.
        start: Where the sentence starts (trimmed).
        end: Where it ends (trimmed).

    Returns:
        ``(start, end, reason)`` pieces in order, the sentence with reason None (absent when nothing
        of it is left).

    Example:
        >>> text = "Advertisement Menlu tiba di Tokyo (Foto: Kemlu RI)."
        >>> [(text[s:e], why) for s, e, why in trim_edge_furniture(text, 0, len(text))]
        [('Advertisement', 'advert'), ('Menlu tiba di Tokyo', None), ('(Foto: Kemlu RI).', 'caption')]
    """
    head: list[tuple[int, int, str | None]] = []
    tail: list[tuple[int, int, str | None]] = []
    while match := _LEAD_RE.match(text, start, end):
        head.append((match.start(), match.end(), match.lastgroup))
        start = _skip_space(text, match.end(), end)
    while start < end and (match := _TRAIL_RE.search(text, max(start, end - _TRAIL_WINDOW), end)):
        if match.start() <= start:
            break
        tail.insert(0, (match.start(), end, match.lastgroup))
        end = match.start()
        while end > start and text[end - 1].isspace():
            end -= 1
    if tail and _is_caption(text, start, end, tail):
        return [*head, (start, tail[-1][1], "caption")]
    middle: list[tuple[int, int, str | None]] = [(start, end, None)] if start < end else []
    return head + middle + tail


def _is_caption(text: str, start: int, end: int, tail: list[tuple[int, int, str | None]]) -> bool:
    """A photo caption: text without a final stop, then a photo credit without one ("... (AP Photo/X)")."""
    last = text[tail[-1][0] : tail[-1][1]]
    return (
        tail[-1][2] == "caption"
        and not last.endswith(_STOPS)
        and not text[start:end].rstrip(_QUOTES).endswith(_STOPS)
    )


def _skip_space(text: str, pos: int, end: int) -> int:
    while pos < end and text[pos].isspace():
        pos += 1
    return pos
