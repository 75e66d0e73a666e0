"""Scraped article text: site furniture of real portals cut out, sentences kept, nothing lost.

The texts here and under tests/data/scraped/ are invented for the tests; they imitate what page
converters and scrapers give for Indonesian portals and English news sites.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from kontak_nlp import segment
from kontak_nlp.text import Segmentation, is_boilerplate
from kontak_nlp.text.boilerplate import find_inline_furniture, trim_edge_furniture
from kontak_nlp.text.markup import reduce_markup

try:
    from _shared import shared_dir
except ImportError:  # tests/ imported as a package
    from tests._shared import shared_dir

DATA = Path(__file__).parent / "data" / "scraped"


def assert_nothing_lost(text: str, seg: Segmentation) -> None:
    """Every visible character of the input belongs to exactly one unit, in order."""
    pos = 0
    for unit in seg.units:
        assert unit.start >= pos and not text[pos : unit.start].strip(), (text[pos : unit.start], unit)
        pos = unit.end
    assert not text[pos:].strip()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "![Menlu RI di Hanoi, Selasa (4/3/2025).](https://cdn.contoh.id/crops/a=/750x500/foto.jpg)",
            "image",
        ),
        ("[video.1]", "media"),
        ("[img.3]", "media"),
        ("https://cdn.contoh.id/data/photo/2025/03/04/menlu.webp", "image"),
        ("https://www.contoh.id/berita/2025/03/04/menlu-tiba", "link"),
        ("Baca juga: Menlu Tiba di Hanoi", "read_also"),
        ("Simak juga Video 'Menlu Bertemu Mitranya di Hanoi':", "read_also"),
        ('Tonton juga video "Wamenlu Pimpin Konsultasi Bilateral"', "read_also"),
        ("Saksikan siaran langsungnya di kanal YouTube kami malam ini.", "promo"),
        ("Simak obrolan lengkapnya dalam podcast Diplomasi Pekan Ini, tayang pukul 19.00 WIB.", "promo"),
        ("Baca selengkapnya di sini.", "read_also"),
        ("Advertisement", "advert"),
        ("SCROLL TO CONTINUE WITH CONTENT", "advert"),
        ("Penulis: Rina Kartika", "byline"),
        ("Editor: Bayu Prasetyo", "byline"),
        ("(Sumber: Antara | Editor: Bayu Prasetyo)", "byline"),
        ("By Jane Morrison and Ken Watanabe", "byline"),
        ("Artikel ini pertama kali tayang di ContohBerita.id dengan judul Konsultasi Bilateral.", "credit"),
        ("Artikel ini telah tayang diContoh TV.", "credit"),
        ("This article was first published on Newswire.", "credit"),
        ("-------", "decoration"),
        ("* * *", "decoration"),
        ("Bagikan: Facebook Twitter WhatsApp", "share"),
        ("Share this: Facebook Twitter Email", "share"),
        ("Facebook Twitter WhatsApp Telegram", "share"),
        ("Simak berita terkini dan pilihan kami di ponselmu melalui Google News.", "subscribe"),
        ("(KOMPAS.com/ANTARA FOTO)", "caption"),
        ("ANTARA FOTO/Sari Wulandari/foc.", "caption"),
        ("(dok. Kemlu RI)", "caption"),
        ("Tokyo Bureau/REUTERS", "caption"),
        ("Home > World > Asia", "navigation"),
        ("Beranda | Nasional | Internasional | Ekonomi", "navigation"),
        ("Comments (14)", "comment"),
        ("Leave a comment", "comment"),
        ("This article is for subscribers only.", "paywall"),
        ("Konten ini khusus untuk pelanggan premium.", "paywall"),
        ("Updated 3 hours ago", "timestamp"),
        ("Selasa, 04 Mar 2025 10:15 WIB", "timestamp"),
        ("Berita Terkait", "read_also"),
    ],
)
def test_furniture_kinds(text: str, reason: str) -> None:
    assert is_boilerplate(text) == reason


@pytest.mark.parametrize(
    "text",
    [
        "Simak pernyataan Menlu berikut ini: Indonesia menolak klaim sepihak.",
        "Menlu menyebut kerja sama itu sebagai iklan yang baik bagi ASEAN.",
        "Pertemuan dengan Facebook dan Twitter membahas disinformasi pemilu.",
        "Advertisements for the summit appeared in Hanoi on Monday.",
        "The minister said the article was first drafted in Jakarta.",
        "Kedua menteri menandatangani nota kesepahaman tentang foto satelit.",
        "Konflik itu melibatkan dua negara (Rusia/Ukraina).",
        "Listen to what the minister said about the talks in Hanoi.",
    ],
)
def test_content_sentences_are_not_furniture(text: str) -> None:
    assert is_boilerplate(text) is None
    assert segment(text).texts == [text]


def test_inline_furniture_glued_to_text_is_cut() -> None:
    text = '[img.2]"Kami sepakat," kata Dimas. [video.1] Ia pulang.'
    seg = segment(text)
    assert seg.texts == ['"Kami sepakat," kata Dimas.', "Ia pulang."]
    assert [(b.text, b.reason) for b in seg.boilerplate] == [("[img.2]", "media"), ("[video.1]", "media")]
    assert_nothing_lost(text, seg)
    spans = [(text[s:e], why) for s, e, why in find_inline_furniture(text)]
    assert spans == [("[img.2]", "media"), ("[video.1]", "media")]


def test_long_markdown_image_with_sentences_in_its_caption_is_one_unit() -> None:
    caption = "Menlu RI tiba di Hanoi. Ia disambut Wamenlu Vietnam, Selasa (4/3/2025). " * 6
    text = f"Judul Berita\n![{caption}](https://cdn.contoh.id/crops/x=/0x0:1200x800/750x500/a.jpg)\nIsi."
    seg = segment(text)
    assert seg.texts == ["Judul Berita", "Isi."]
    assert [b.reason for b in seg.boilerplate] == ["image"]


@pytest.mark.parametrize(
    ("text", "kept", "cut"),
    [
        (
            "Advertisement Pertemuan berikutnya di Jakarta.",
            "Pertemuan berikutnya di Jakarta.",
            "Advertisement",
        ),
        ("Keduanya membahas batas ZEE (Foto: Kemlu RI).", "Keduanya membahas batas ZEE", "(Foto: Kemlu RI)."),
        ("(KOMPAS.com/ANTARA FOTO) Menlu tiba di Hanoi.", "Menlu tiba di Hanoi.", "(KOMPAS.com/ANTARA FOTO)"),
        ("Keduanya bertemu di Hanoi. (Foto: Kemlu RI)", "Keduanya bertemu di Hanoi.", "(Foto: Kemlu RI)"),
        (
            "Menlu tiba di Tokyo. SCROLL TO CONTINUE WITH CONTENT",
            "Menlu tiba di Tokyo.",
            "SCROLL TO CONTINUE WITH CONTENT",
        ),
    ],
)
def test_glued_furniture_is_cut_and_the_sentence_kept(text: str, kept: str, cut: str) -> None:
    seg = segment(text)
    assert seg.texts == [kept]
    assert [b.text for b in seg.boilerplate] == [cut]
    assert_nothing_lost(text, seg)


def test_trim_edge_furniture_returns_pieces_in_order() -> None:
    text = "Advertisement Menlu tiba (dok. Kemlu RI)."
    pieces = [(text[s:e], why) for s, e, why in trim_edge_furniture(text, 0, len(text))]
    assert pieces == [("Advertisement", "advert"), ("Menlu tiba", None), ("(dok. Kemlu RI).", "caption")]


def test_dok_inside_a_sentence_does_not_split_it() -> None:
    text = "Menlu bertemu Dubes Vietnam (dok. Kemlu RI) di Jakarta pada Senin."
    assert segment(text).texts == [text]


def test_read_also_prompt_takes_the_headline_on_the_next_line() -> None:
    text = "Isi pertama.\nBaca Juga:\nMenlu Bertemu Mitranya di Hanoi\nFokus Pertemuan\nIsi kedua."
    seg = segment(text)
    assert seg.texts == ["Isi pertama.", "Fokus Pertemuan", "Isi kedua."]
    assert [b.reason for b in seg.boilerplate] == ["read_also", "read_also"]
    # a sentence after the prompt is not a linked headline
    assert segment("BACA JUGA:\nKeduanya bertemu selama 40 menit di Hanoi.").texts == [
        "Keduanya bertemu selama 40 menit di Hanoi."
    ]


def test_related_list_of_links_is_furniture() -> None:
    text = (
        "Isi berita.\n## Berita Terkait\n- [Menlu Tiba di Hanoi](https://contoh.id/1)\n"
        "- [RI dan Vietnam Teken MoU](https://contoh.id/2)\nPenutup berita."
    )
    seg = segment(text)
    assert seg.texts == ["Isi berita.", "Penutup berita."]
    assert [b.reason for b in seg.boilerplate] == ["read_also", "link", "link"]


def test_markdown_is_reduced_for_the_classifier_and_offsets_stay_in_the_original() -> None:
    text = "**JAKARTA** - Menlu [Sari Dewi](https://contoh.id/tag/sari) tiba di _Hanoi_. **Ia** disambut."
    seg = segment(text)
    assert seg.texts == ["JAKARTA - Menlu Sari Dewi tiba di Hanoi.", "Ia disambut."]
    first, second = seg
    assert text[first.start : first.end].startswith("**JAKARTA**") and first.end == text.index(" **Ia")
    assert text[second.start : second.end] == "**Ia** disambut."
    assert reduce_markup("> ## Kutipan *penting*") == "Kutipan penting"


@pytest.mark.parametrize(
    "first_line",
    [
        "JAKARTA, KOMPAS.com - Menlu tiba di Hanoi.",
        "**HANOI, CONTOH.id** – Menlu tiba di Hanoi.",
        "Liputan6.com, Jakarta - Menlu tiba di Hanoi.",
        "TEMPO.CO, Jakarta - Menlu tiba di Hanoi.",
        "Jakarta (ANTARA) - Menlu tiba di Hanoi.",
        "WASHINGTON (AP) — Menlu tiba di Hanoi.",
    ],
)
def test_datelines_stay_with_the_first_sentence(first_line: str) -> None:
    seg = segment(f"Judul\n{first_line} Ia disambut.")
    assert seg.texts[1] == reduce_markup(first_line)


@pytest.mark.parametrize("name", ["portal_id_markdown.md", "site_en_text.txt"])
def test_own_scraped_pages(name: str) -> None:
    text = (DATA / name).read_text(encoding="utf-8")
    gold = json.loads((DATA / name).with_suffix(".json").read_text(encoding="utf-8"))
    seg = segment(text)
    assert_nothing_lost(text, seg)
    found = sum(sentence in seg.texts for sentence in gold["main"])
    assert found / len(gold["main"]) >= 0.98, sorted(set(gold["main"]) - set(seg.texts))
    leaked = [(snippet, t) for t in seg.texts for snippet in gold["furniture"] if snippet in t]
    assert not leaked


def _spans(text: str, items: list[str]) -> list[tuple[int, int]]:
    """Each item's span, searched in order from the end of the previous one."""
    out, pos = [], 0
    for item in items:
        start = text.find(item, pos)
        start = text.index(item) if start < 0 else start
        out.append((start, start + len(item)))
        pos = start + len(item)
    return out


def _all_spans(text: str, items: list[str]) -> list[tuple[int, int]]:
    out = set()
    for item in set(items):
        start = text.find(item)
        while start >= 0:
            out.add((start, start + len(item)))
            start = text.find(item, start + 1)
    return sorted(out)


def _inside(unit: object, spans: list[tuple[int, int]]) -> bool:
    return any(lo <= unit.start and unit.end <= hi for lo, hi in spans)  # type: ignore[attr-defined]


def _tiled(gold: tuple[int, int], sentences: list, by_start: dict[int, int], text: str) -> list[int]:
    """Positions of the consecutive predicted sentences that tile ``gold`` exactly (empty if none)."""
    i = by_start.get(gold[0])
    if i is None:
        return []
    j = i
    while sentences[j].end < gold[1] and j + 1 < len(sentences):
        if text[sentences[j].end : sentences[j + 1].start].strip():
            return []
        j += 1
    return list(range(i, j + 1)) if sentences[j].end == gold[1] else []


def _score_article(text: str, gold: list[str], furniture: list[str], unlabeled: list[str]) -> dict[str, int]:
    seg = segment(text)
    assert_nothing_lost(text, seg)
    ignored = _all_spans(text, unlabeled)
    furniture_spans = _all_spans(text, furniture)
    units = [u for u in seg.units if not _inside(u, ignored)]
    sentences = [u for u in units if not u.boilerplate]
    by_start = {u.start: i for i, u in enumerate(sentences)}
    used: set[int] = set()
    matched = 0
    for span in _spans(text, gold):
        tiling = _tiled(span, sentences, by_start, text)
        matched += bool(tiling)
        used.update(tiling)
    predicted_bp = [u for u in units if u.boilerplate]
    recalled = 0
    for lo, hi in furniture_spans:
        cover = [u for u in seg.units if u.start < hi and u.end > lo]
        recalled += bool(cover) and all(u.boilerplate for u in cover)
    return {
        "gold": len(gold), "matched": matched, "predicted": len(sentences), "used": len(used),
        "bp_gold": len(furniture_spans), "bp_recalled": recalled, "bp_predicted": len(predicted_bp),
        "bp_correct": sum(_inside(u, furniture_spans) for u in predicted_bp),
    }  # fmt: skip


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def realdev_scores(folder: Path) -> dict[str, float]:
    """Sentence-unit P/R/F1 (a unit tiled by consecutive predicted sentences counts) and boilerplate P/R."""
    by_doc: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in sorted(_read_jsonl(folder / "realdev.jsonl"), key=lambda r: (r["doc_id"], r["sent_idx"])):
        by_doc[row["doc_id"]]["gold"].append(row["text"])
    for kind, name in (("furniture", "boilerplate.jsonl"), ("unlabeled", "unlabeled.jsonl")):
        for row in _read_jsonl(folder / name):
            by_doc[row["doc_id"]][kind].append(row["text"])
    n: dict[str, int] = defaultdict(int)
    for article in _read_jsonl(folder / "articles.jsonl"):
        doc = by_doc[article["doc_id"]]
        counts = _score_article(article["raw_text"], doc["gold"], doc["furniture"], doc["unlabeled"])
        for key, value in counts.items():
            n[key] += value
    precision, recall = n["used"] / n["predicted"], n["matched"] / n["gold"]
    return {
        "sentence_precision": precision,
        "sentence_recall": recall,
        "sentence_f1": 2 * precision * recall / (precision + recall),
        "boilerplate_precision": n["bp_correct"] / max(n["bp_predicted"], 1),
        "boilerplate_recall": n["bp_recalled"] / max(n["bp_gold"], 1),
    }


def test_realdev_measured(record_property: pytest.RecordProperty) -> None:
    shared = shared_dir()
    folder = shared / "data" / "realdev" if shared else None
    if folder is None or not (folder / "articles.jsonl").is_file():
        pytest.skip("shared folder with data/realdev/ not found (set KONTAK_SHARED_DIR)")
    scores = realdev_scores(folder)
    print("\nreal-dev segmentation: " + ", ".join(f"{k}={v:.3f}" for k, v in scores.items()))
    for name, value in scores.items():
        record_property(name, round(value, 4))
    assert scores["sentence_f1"] >= 0.98, scores
    assert scores["boilerplate_precision"] >= 0.95 and scores["boilerplate_recall"] >= 0.95, scores


def test_caption_line_without_a_stop_stays_one_caption_unit() -> None:
    text = "Isi.\nTentara berjaga di dekat Surin (AP Photo/Jane Doe)\nFoto: Suasana KTT (Dok Setpres/Adi)"
    seg = segment(text)
    assert seg.texts == ["Isi."]
    assert [(b.text, b.reason) for b in seg.boilerplate] == [
        ("Tentara berjaga di dekat Surin (AP Photo/Jane Doe)", "caption"),
        ("Foto: Suasana KTT (Dok Setpres/Adi)", "caption"),
    ]


def test_segment_stays_a_function_after_the_compatibility_module_is_imported() -> None:
    import importlib

    import kontak_nlp

    importlib.import_module("kontak_nlp.segment")
    assert callable(kontak_nlp.segment) and kontak_nlp.segment is segment
    assert importlib.import_module("kontak_nlp.article").classify_article is kontak_nlp.classify_article
