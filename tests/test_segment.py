"""Tests of kontak_nlp.segment: sentence boundaries, offsets, boilerplate, and the seeds-dev reference.

All example sentences here are invented for the tests.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import pytest

from kontak_nlp.segment import (
    Segmentation,
    SegmenterConfig,
    Sentence,
    is_boilerplate,
    segment,
    split_sentences,
)
from kontak_nlp.text.markup import reduce_markup

try:
    from _shared import shared_dir
except ImportError:  # tests/ imported as a package
    from tests._shared import shared_dir


def units(text: str, **config: object) -> list[str]:
    return [u.text for u in segment(text, SegmenterConfig(**config)).units]


def assert_offsets(text: str, seg: Segmentation) -> None:
    for i, unit in enumerate(seg.units):
        raw = text[unit.start : unit.end]
        assert raw == raw.strip() and raw
        assert unit.text == reduce_markup(raw)
        assert unit.index == i
    assert [u.start for u in seg.units] == sorted(u.start for u in seg.units)


BOUNDARY_CASES = [
    pytest.param(
        "Dr. Sari tiba di Jl. Cendana No. 6 bersama Prof. Adi. Ia disambut Kol. Budi dan Letjen. Hari.",
        ["Dr. Sari tiba di Jl. Cendana No. 6 bersama Prof. Adi.", "Ia disambut Kol. Budi dan Letjen. Hari."],
        id="indonesian-abbreviations",
    ),
    pytest.param(
        "Mr. Lee met Mrs. Park of Hanil Co. in the U.S. capital, i.e. Washington. "
        "Talks ended at 5 p.m. Sunday.",
        [
            "Mr. Lee met Mrs. Park of Hanil Co. in the U.S. capital, i.e. Washington.",
            "Talks ended at 5 p.m. Sunday.",
        ],
        id="english-abbreviations",
    ),
    pytest.param(
        "Menurut H. Agus dan J.R. Tan, perundingan gagal. Keduanya pulang.",
        ["Menurut H. Agus dan J.R. Tan, perundingan gagal.", "Keduanya pulang."],
        id="initials",
    ),
    pytest.param(
        "Pada Rabu (12/3/2025) pukul 10.30 WIB tercatat 4.200 peserta dan inflasi 2,7 persen. Rapat usai.",
        [
            "Pada Rabu (12/3/2025) pukul 10.30 WIB tercatat 4.200 peserta dan inflasi 2,7 persen.",
            "Rapat usai.",
        ],
        id="dates-times-decimals",
    ),
    pytest.param(
        "Ia ragu... Namun akhirnya setuju. Jawabnya singkat… Tidak.",
        ["Ia ragu... Namun akhirnya setuju.", "Jawabnya singkat… Tidak."],
        id="ellipsis",
    ),
    pytest.param(
        "“Kami siap. Kami menunggu jawaban,” kata Menlu. “Satu hal. Dua hal.” Lalu ia pergi.",
        ["“Kami siap.", "Kami menunggu jawaban,” kata Menlu.", "“Satu hal.", "Dua hal.”", "Lalu ia pergi."],
        id="multi-sentence-quotes",
    ),
    pytest.param(
        'Ia menyebut uji coba itu "sukses." Dua hari kemudian ia pergi. "Tidak," jawabnya.',
        ['Ia menyebut uji coba itu "sukses."', "Dua hari kemudian ia pergi.", '"Tidak," jawabnya.'],
        id="straight-quotes",
    ),
    pytest.param(
        "Apa hasilnya? Tidak ada! “Benarkah?” tanyanya.",
        ["Apa hasilnya?", "Tidak ada!", "“Benarkah?” tanyanya."],
        id="question-exclamation",
    ),
    pytest.param(
        "Menlu RI Bertemu Menlu Jepang\nJAKARTA - Keduanya bertemu. Pertemuan berlangsung 90 menit.",
        ["Menlu RI Bertemu Menlu Jepang", "JAKARTA - Keduanya bertemu.", "Pertemuan berlangsung 90 menit."],
        id="headline-without-stop",
    ),
    pytest.param(
        "Ia merujuk pada . Pada Senin ia tiba. Moskow setia pada . “Kami tidak mundur,” katanya.",
        ["Ia merujuk pada .", "Pada Senin ia tiba.", "Moskow setia pada .", "“Kami tidak mundur,” katanya."],
        id="orphan-period",
    ),
    pytest.param(
        "Usulan itu berarti kerugian besar. bagian wilayah diserahkan.",
        ["Usulan itu berarti kerugian besar. bagian wilayah diserahkan."],
        id="lowercase-after-period",
    ),
    pytest.param(
        "OSLO - Menlu Norwegia tiba. KABARDUNIA.COM - Ia disambut. (NewsWire) – \u00a0 Kedua pihak bertemu.",
        [
            "OSLO - Menlu Norwegia tiba.",
            "KABARDUNIA.COM - Ia disambut.",
            "(NewsWire) – \u00a0 Kedua pihak bertemu.",
        ],
        id="datelines",
    ),
    pytest.param(
        "1. Rusia harus mundur.\n2. Sanksi dicabut.",
        ["1. Rusia harus mundur.", "2. Sanksi dicabut."],
        id="list-numbers",
    ),
    pytest.param(
        "Pertemuan pun selesai. loading... Menteri tiba.",
        ["Pertemuan pun selesai.", "loading...", "Menteri tiba."],
        id="loading-furniture",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BOUNDARY_CASES)
def test_sentence_boundaries(text: str, expected: list[str]) -> None:
    seg = segment(text, SegmenterConfig(drop_boilerplate=False))
    assert [u.text for u in seg.units] == expected
    assert_offsets(text, seg)
    assert [text[s:e] for s, e in split_sentences(text)] == expected


def test_extra_abbreviations() -> None:
    text = "Laporan Kemlu. Tiba hari ini."
    assert units(text) == ["Laporan Kemlu.", "Tiba hari ini."]
    assert units(text, extra_abbreviations=("Kemlu",)) == [text]


def test_trailing_source_credit_is_own_boilerplate_unit() -> None:
    seg = segment("Keduanya sepakat bertemu lagi. Reuters\n\nShare:")
    assert [u.text for u in seg] == ["Keduanya sepakat bertemu lagi."]
    assert [(u.text, u.reason) for u in seg.boilerplate] == [("Reuters", "credit"), ("Share:", "share")]
    assert segment("Pertemuan usai. (adi/ant)").boilerplate[0].reason == "editor_initials"


@pytest.mark.parametrize(
    "text",
    [
        "Satu.\r\nDua kalimat.\r\n\r\nTiga?\r\n",
        "\u00a0 Menlu tiba.\u00a0Ia disambut.\u00a0\n\tTab di sini.\t",
        "Halo 👋. Dunia 🌍! Ya 👨‍👩‍👧.",
        "\ufeff\x00Satu.\x07 Dua.\u200b\n\x0bTiga.\u2028Empat.\x85Lima.",
    ],
    ids=["crlf", "nbsp-tabs", "emoji", "control-chars"],
)
def test_offsets_survive_odd_characters(text: str) -> None:
    seg = segment(text)
    assert seg.units
    assert_offsets(text, seg)
    assert all("\r" not in u.text and "\n" not in u.text for u in seg.units)


def test_crlf_paragraphs_and_nbsp_split() -> None:
    seg = segment("Satu.\r\nDua kalimat. Tiga.\r\n\r\nEmpat.")
    assert [u.text for u in seg] == ["Satu.", "Dua kalimat.", "Tiga.", "Empat."]
    assert [u.paragraph for u in seg] == [0, 1, 1, 2]
    assert units("Menlu tiba.\u00a0Ia disambut.") == ["Menlu tiba.", "Ia disambut."]


def test_offsets_on_random_noise() -> None:
    pieces = list("aB .?!…\"'“”()\n\r\t\u00a0\u2028\x00\ufeff👋1,:-") + ["Dr.", "U.S.", " . ", "...", "A"]
    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        seg = segment(text)
        assert_offsets(text, seg)
        assert split_sentences(text) == [(u.start, u.end) for u in seg.units]


@pytest.mark.parametrize("text", ["", "   ", "\n\r\n\t \u00a0\n", "\ufeff"])
def test_empty_text(text: str) -> None:
    seg = segment(text)
    assert len(seg) == 0 and seg.units == () and list(seg) == []
    assert split_sentences(text) == []


@pytest.mark.parametrize("value", [None, b"Menlu tiba.", 42, ["Menlu tiba."]])
def test_non_str_raises_type_error(value: object) -> None:
    with pytest.raises(TypeError, match=type(value).__name__):
        segment(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=type(value).__name__):
        split_sentences(value)  # type: ignore[arg-type]


def test_one_megabyte_inputs_complete() -> None:
    paragraph = (
        "Menlu RI bertemu Dr. Budi pada 27/2/2025 pukul 10.30 WIB di gedung {i}. “Ini penting. Sangat "
        "penting {i},” katanya. Baca juga: Menlu Tiba\n"
        "Keduanya membahas {i} juta ton beras... Hasilnya positif.\n\n"
    )
    text = "".join(paragraph.format(i=i) for i in range(1_000_000 // len(paragraph)))
    assert len(text) > 900_000
    seg = segment(text)
    assert len(seg) == 4 * len(seg.boilerplate)
    assert_offsets(text, seg)
    for pathological in ("." * 1_000_000 + " A", " ." * 500_000, "x\n" * 100_000, "a. B " * 200_000):
        assert segment(pathological).units


BOILERPLATE_CASES = [
    ("Baca juga: Menlu Bertemu Mitranya", "read_also"),
    ("BACA JUGA:", "read_also"),
    ("Simak juga video berikut ini", "read_also"),
    ("Lihat juga: Daftar Negara Anggota", "read_also"),
    ("Share:", "share"),
    ("Bagikan:", "share"),
    ("loading...", "loading"),
    ("A", "font_size"),
    ("A A A", "font_size"),
    ("A- A A+", "font_size"),
    ("dubes-jepang-2024.jpg", "image"),
    (":format(webp)/media/foto/bank/originals/menlu-ri.webp)", "image"),
    ("https://contoh.id/berita/123", "link"),
    ("![Menlu di Tokyo](https://contoh.id/a.png)", "image"),
    ("Foto: Dok. Kemlu", "caption"),
    ("(Foto: AFP/John Doe)", "caption"),
    ("Ilustrasi: bendera dua negara", "caption"),
    ("Reuters", "credit"),
    ("(AFP)", "credit"),
    ("Antara", "credit"),
    ("Bernama", "credit"),
    ("Xinhua", "credit"),
    ("AP", "credit"),
    ("Aljazeera", "credit"),
    ("(ian)", "editor_initials"),
    ("(rzk/ant)", "editor_initials"),
    ("Editor: Budi Santoso", "byline"),
    ("Penulis: Ani", "byline"),
    ("Reporter: Dewi Lestari", "byline"),
    ("Sektor: Energi, Berita Harian", "press_release"),
    ("Konten ini disediakan oleh penyedia konten pihak ketiga.", "press_release"),
    ("NewsWire menyediakan distribusi siaran pers ke 500 media di Asia.", "press_release"),
    ("Isi komentar sepenuhnya adalah tanggung jawab pengguna dan diatur undang-undang.", "comment"),
    ("Ikuti berita terkini dari kami di Google News", "subscribe"),
    ("Subscribe", "subscribe"),
    ("Tags: Rusia, Amerika Serikat, diplomasi", "tags"),
    ("Tag: Menlu", "tags"),
    ("#Diplomasi #ASEAN", "tags"),
    ("Copyright © 2025 Contoh Media", "copyright"),
    ("Advertisement", "advert"),
    ("* * *", "decoration"),
]


@pytest.mark.parametrize(("text", "reason"), BOILERPLATE_CASES)
def test_is_boilerplate_rules(text: str, reason: str) -> None:
    assert is_boilerplate(text) == reason


@pytest.mark.parametrize(
    "text",
    [
        "Menlu Jepang bertemu Menlu Korea Selatan di Tokyo pada Senin.",
        "Reuters melaporkan bahwa keduanya bertemu selama 40 menit.",
        "Dilansir Reuters, kedua menteri tidak dijadwalkan bertemu.",
        "Kedutaan tidak memberi komentar dan menyebutnya tanggung jawab Moskow.",
        "Kementerian dalam siaran pers menyatakan dialog akan berlanjut.",
        "Editor Senior Sebuah Harian Ditahan di Minsk",
        "Hak cipta dan paten menjadi isu dalam perundingan dagang.",
        "Fokus Pertemuan Bilateral",
        "A.",
    ],
)
def test_content_is_not_boilerplate(text: str) -> None:
    assert is_boilerplate(text) is None


def test_topic_kicker_above_headline() -> None:
    text = "Perang Dagang\nBeijing dan Washington Sepakat Bertemu di Jenewa\nJENEWA - Kedua delegasi tiba.\n"
    seg = segment(text)
    assert [(u.text, u.reason) for u in seg.boilerplate] == [("Perang Dagang", "kicker")]
    assert seg[0].text == "Beijing dan Washington Sepakat Bertemu di Jenewa"


@pytest.mark.parametrize(
    "text",
    [
        "Menlu RI Temui Mitranya\nJAKARTA - Menlu RI bertemu mitranya hari ini.",
        "Kedua Menlu Bertemu di Jenewa, Ini Hasilnya\nloading...\nJENEWA - Keduanya bertemu.",
        "Menlu Bertemu Mitra\nJENEWA - Keduanya bertemu.\nFokus Pertemuan\nPembahasan Berlanjut Pekan Depan",
    ],
)
def test_headlines_and_headings_are_kept(text: str) -> None:
    seg = segment(text)
    assert all(u.reason != "kicker" for u in seg.units)
    assert seg[0].text == text.splitlines()[0]


def test_photo_credit_after_a_sentence_is_cut_and_the_sentence_kept() -> None:
    seg = segment("Kedua menteri bertemu di Oslo, Senin (3/3/2025). (Foto: Reuters)\nKeduanya sepakat.")
    assert [(u.text, u.reason) for u in seg.boilerplate] == [("(Foto: Reuters)", "caption")]
    assert [u.text for u in seg] == ["Kedua menteri bertemu di Oslo, Senin (3/3/2025).", "Keduanya sepakat."]


def test_repeated_block_is_marked_duplicate() -> None:
    body = "Kedua menteri luar negeri bertemu selama sembilan puluh menit di Oslo.\nItu pertemuan pertama.\n"
    text = "Judul Berita\n" + body + "Keduanya sepakat.\n" + body + "(ian)"
    seg = segment(text)
    reasons = [u.reason for u in seg.boilerplate]
    assert reasons == ["duplicate", "duplicate", "editor_initials"]
    assert [u.text for u in seg].count("Itu pertemuan pertama.") == 1
    off = segment(text, SegmenterConfig(dedupe_repeated_blocks=False))
    assert [u.reason for u in off.boilerplate] == ["editor_initials"]
    assert units("Ya.\nTidak.\nYa.") == ["Ya.", "Tidak.", "Ya."]
    assert len(segment("Ya.\nTidak.\nYa.")) == 3  # a short single repeat is not a block


def test_drop_boilerplate_false_keeps_every_unit() -> None:
    text = "Baca juga: Lainnya\nIsi berita.\nIsi berita.\nShare:"
    seg = segment(text, SegmenterConfig(drop_boilerplate=False))
    assert len(seg) == 4 and seg.boilerplate == ()
    assert all(u.reason is None for u in seg.units)


def test_segmentation_api_and_repr() -> None:
    text = "Judul Utama Hari Ini\nBaca juga: Lainnya\nIsi pertama. Isi kedua."
    seg = segment(text)
    assert isinstance(seg[0], Sentence) and len(seg) == 3
    assert [u.index for u in seg] == [0, 2, 3] and seg.boilerplate[0].index == 1
    assert seg.texts == ["Judul Utama Hari Ini", "Isi pertama.", "Isi kedua."]
    assert split_sentences(text) == [(u.start, u.end) for u in seg.units]
    shown = str(seg)
    assert repr(seg) == shown
    assert "[2] 40:52 p2  Isi pertama." in shown
    head, tail = shown.split("boilerplate:")
    assert "Baca juga" not in head and "(read_also) Baca juga: Lainnya" in tail


def test_config_validation() -> None:
    assert SegmenterConfig(extra_abbreviations=["Kemlu", "Dirjen."]).extra_abbreviations == (
        "Kemlu.",
        "Dirjen.",
    )
    with pytest.raises(TypeError):
        SegmenterConfig(extra_abbreviations="Kemlu")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SegmenterConfig(extra_abbreviations=("two words",))


def _reference_scores(shared: Path) -> dict[str, float]:
    """Boundary and boilerplate precision/recall of segment() against seeds-dev.jsonl."""
    docs: dict[str, list[dict]] = defaultdict(list)
    for line in (shared / "data" / "seeds-dev.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            docs[row["doc_id"]].append(row)
    n = defaultdict(int)
    for doc_id, rows in docs.items():
        text = (shared / "seeds" / f"{doc_id}.txt").read_text(encoding="utf-8")
        ref: dict[tuple[int, int], bool] = {}
        pos = 0
        for row in rows:  # first occurrence in order, from the previous unit's end
            start = text.index(row["text"], pos)
            pos = start + len(row["text"])
            ref[(start, pos)] = row["boilerplate"]
        spans = sorted(ref)
        # Text the reference leaves out (a repeated copy of the body) is not scored; it must be deduped.
        gaps = [(a[1], b[0]) for a, b in zip(spans, spans[1:]) if text[a[1] : b[0]].strip()]
        seg = segment(text)
        for unit in seg.units:
            if any(lo <= unit.start < hi for lo, hi in gaps):
                assert unit.reason == "duplicate", (doc_id, unit)
                continue
            n["pred"] += 1
            if (unit.start, unit.end) in ref:
                n["match"] += 1
                gold = ref[(unit.start, unit.end)]
                n["bp_tp"] += gold and unit.boilerplate
                n["bp_pred"] += unit.boilerplate
                n["bp_gold"] += gold
        n["gold"] += len(ref)
    return {
        "boundary_precision": n["match"] / n["pred"],
        "boundary_recall": n["match"] / n["gold"],
        "boilerplate_precision": n["bp_tp"] / max(n["bp_pred"], 1),
        "boilerplate_recall": n["bp_tp"] / max(n["bp_gold"], 1),
    }


def test_seeds_dev_reference(record_property: pytest.RecordProperty) -> None:
    shared = shared_dir()
    if shared is None:
        pytest.skip("shared folder with data/seeds-dev.jsonl not found (set KONTAK_SHARED_DIR)")
    scores = _reference_scores(shared)
    print("\nseeds-dev segmentation: " + ", ".join(f"{k}={v:.3f}" for k, v in scores.items()))
    for name, value in scores.items():
        record_property(name, round(value, 4))
    assert all(value == 1.0 for value in scores.values()), scores
