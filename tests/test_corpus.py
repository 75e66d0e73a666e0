"""The annotated training corpus: validator on a fresh build, offline loaders, and planted problems."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

TRAINING = Path(__file__).resolve().parents[1] / "training"
sys.path.insert(0, str(TRAINING))

import build_corpus  # noqa: E402
import corpus_tools  # noqa: E402

pytestmark = pytest.mark.skipif(
    not any((TRAINING / "data" / "raw").glob("*.jsonl")), reason="no raw corpus files in training/data/raw"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The corpus built from the raw files into a temporary path (never the checked-in file)."""
    out = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    articles = build_corpus.build(out=out, package_copy=out.with_name("corpus.jsonl.gz"))
    return out, articles


@pytest.fixture
def small(built: tuple[Path, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """A deep copy of a few articles from each split, for planting problems (targets not checked)."""
    _, articles = built
    picked = [a for split in corpus_tools.SPLITS for a in [x for x in articles if x["split"] == split][:3]]
    return copy.deepcopy(picked)


def test_built_corpus_is_valid(built: tuple[Path, list[dict[str, Any]]]) -> None:
    _, articles = built
    assert corpus_tools.validate_corpus(articles) == []


def test_written_file_round_trips(built: tuple[Path, list[dict[str, Any]]]) -> None:
    path, articles = built
    assert corpus_tools.load_jsonl(path) == json.loads(json.dumps(articles))


def test_segmenter_agreement_is_high(built: tuple[Path, list[dict[str, Any]]]) -> None:
    report = corpus_tools.segmentation_agreement(built[1])
    assert report["span_agreement"] >= 0.99, report["mismatches"][:10]


def test_load_corpus_offline(
    built: tuple[Path, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kontak_nlp.data import load_articles, load_corpus

    path, articles = built
    monkeypatch.setenv("KONTAK_CORPUS", str(path))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    total = 0
    for split in corpus_tools.SPLITS:
        ds = load_corpus(split)
        assert ds.num_rows > 0 and set(ds["split"]) == {split}
        assert set(ds["label"]) == set(corpus_tools.LABELS)
        assert {"text", "label", "article_id", "start", "end", "hard"} <= set(ds.column_names)
        total += ds.num_rows
        docs = load_articles(split)
        assert set(ds["article_id"]) == set(docs["id"])
    assert total == sum(len(corpus_tools.labeled(a)) for a in articles)
    rows = list(load_corpus(None)["train"]) + list(load_corpus("dev")) + list(load_corpus("test"))
    assert corpus_tools.check_rows_by_article(rows) == []
    assert load_articles()["test"].num_rows == sum(a["split"] == "test" for a in articles)


def test_small_sample_is_valid_without_targets(small: list[dict[str, Any]]) -> None:
    assert corpus_tools.validate_corpus(small, targets=False) == []


def test_catches_bad_offsets(small: list[dict[str, Any]]) -> None:
    small[0]["sentences"][1]["start"] += 1
    assert any("text[start:end]" in p for p in corpus_tools.validate_corpus(small, targets=False))


def test_catches_unknown_and_missing_label(small: list[dict[str, Any]]) -> None:
    small[0]["sentences"][0]["label"] = "opinion"
    unit = next(s for s in small[1]["sentences"] if not s["boilerplate"])
    unit["label"] = None
    problems = corpus_tools.validate_corpus(small, targets=False)
    assert any("'opinion'" in p for p in problems) and any("None" in p for p in problems)


def test_catches_labeled_boilerplate_and_schema(small: list[dict[str, Any]]) -> None:
    small[0]["sentences"][0]["boilerplate"] = True
    del small[1]["lang"]
    small[2]["sentences"][0]["idx"] = "0"
    problems = corpus_tools.validate_corpus(small, targets=False)
    assert any("boilerplate unit" in p for p in problems)
    assert any("missing field 'lang'" in p for p in problems)
    assert any("'idx' is str" in p for p in problems)


def test_catches_cross_split_duplicate(small: list[dict[str, Any]]) -> None:
    train = next(a for a in small if a["split"] == "train")
    test = next(a for a in small if a["split"] == "test")
    _replace_unit(test, 1, train["sentences"][1]["text"].upper() + " 2025")
    problems = corpus_tools.validate_corpus(small, targets=False)
    assert any("cross-split duplicate" in p and "jaccard 1.0" in p for p in problems)


def test_catches_near_duplicate_but_not_within_split(small: list[dict[str, Any]]) -> None:
    dev = next(a for a in small if a["split"] == "dev")
    base = "Menteri luar negeri kedua negara bertemu di Jakarta membahas kerja sama perikanan dan energi"
    _replace_unit(small[0], 1, base + ".")
    _replace_unit(small[1], 1, base + ".")  # same split as small[0]: allowed
    _replace_unit(dev, 1, base + " terbarukan.")
    found = corpus_tools.find_cross_split_duplicates(small)
    assert [(d["a"].split("#")[0], d["b"].split("#")[0]) for d in found] == [
        (small[0]["id"], dev["id"]),
        (small[1]["id"], dev["id"]),
    ]
    assert all(0.8 <= d["jaccard"] < 1 for d in found)


def test_catches_split_leak(small: list[dict[str, Any]]) -> None:
    leaked = copy.deepcopy(small[0])
    leaked["split"] = "test" if small[0]["split"] != "test" else "dev"
    problems = corpus_tools.validate_corpus([*small, leaked], targets=False)
    assert any("split leak" in p for p in problems) and any("duplicate article id" in p for p in problems)
    small[0]["split"] = "validation"
    small[1]["sentences"][0]["split"] = "elsewhere"
    problems = corpus_tools.validate_corpus(small, targets=False)
    assert any("not in" in p for p in problems) and any("sentence split" in p for p in problems)
    rows = [{"article_id": "x", "split": "train"}, {"article_id": "x", "split": "dev"}]
    assert corpus_tools.check_rows_by_article(rows) != []


def test_targets_flag_small_corpus(small: list[dict[str, Any]]) -> None:
    problems = corpus_tools.check_targets(corpus_stats := corpus_tools.corpus_stats(small))
    assert corpus_stats["articles"] == len(small)
    assert any(p.startswith("size:") for p in problems)


def test_near_duplicate_search_matches_brute_force(built: tuple[Path, list[dict[str, Any]]]) -> None:
    units = corpus_tools._units(built[1][:120])
    for unit in units[::7]:
        unit[3].append("tambahan")  # perturb some units so the threshold is exercised
    fast = {(i, j) for i, j, _ in corpus_tools._near_pairs(units, 0.5)}
    sets = [set(u[3]) for u in units]
    slow = {
        (i, j)
        for i in range(len(units))
        for j in range(i + 1, len(units))
        if units[i][2] != units[j][2] and min(len(units[i][3]), len(units[j][3])) >= 6
        and len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= 0.5
    }  # fmt: skip
    assert fast == slow


def _replace_unit(article: dict[str, Any], idx: int, new: str) -> None:
    """Replace one unit's text and shift the offsets of the units after it."""
    sent = article["sentences"][idx]
    delta = len(new) - (sent["end"] - sent["start"])
    article["text"] = article["text"][: sent["start"]] + new + article["text"][sent["end"] :]
    sent["text"], sent["end"] = new, sent["end"] + delta
    sent["label"], sent["boilerplate"], sent["hard"], sent["hard_type"] = "background", False, False, None
    for later in article["sentences"][idx + 1 :]:
        later["start"] += delta
        later["end"] += delta


def test_realism_targets_catch_a_template_corpus(built: tuple[Path, list[dict[str, Any]]]) -> None:
    """v1-style articles (meeting headline and lead, all four labels) break the real-news shape targets."""
    import realism

    _, articles = built
    template = [
        {"id": f"t{i}", "lang": "id", "rows": [("Menlu bertemu", "meeting_report"), ("Mereka bertemu.",
         "meeting_report"), ("Ia menilai baik.", "position_statement"), ("Ia mendesak.", "demand"),
         ("Perang sejak 2022.", "background")]}
        for i in range(20)
    ]  # fmt: skip
    problems = realism.check_realism(realism.realism_stats(template))
    assert any("meeting_lead_share" in p for p in problems)
    assert any("all_four_labels_share" in p for p in problems)
    assert realism.check_realism(realism.realism_stats(realism.corpus_articles(articles))) == []


def test_no_invented_official_or_duplicate_crosses_splits(small: list[dict[str, Any]]) -> None:
    import realism

    assert realism.officials_across_splits(small) == []
    moved = copy.deepcopy(small)
    name = moved[0]["officials"][0]
    other = next(a for a in moved if a["split"] != moved[0]["split"])
    other["officials"].append(name)
    assert name.lower() in " ".join(realism.officials_across_splits(moved))
    assert any("appears in several splits" in p for p in corpus_tools.validate_corpus(moved, targets=False))


def test_checked_in_splits_are_kept(built: tuple[Path, list[dict[str, Any]]]) -> None:
    _, articles = built
    recorded = build_corpus.read_splits()
    assert {a["id"]: a["split"] for a in articles} == recorded  # every article recorded, none moved


def test_pinned_splits_hold_and_conflicts_fail(small: list[dict[str, Any]]) -> None:
    articles = copy.deepcopy(small)
    first, last = articles[0], articles[-1]  # from different splits, so in different groups
    pinned = {first["id"]: "test", last["id"]: "dev"}
    build_corpus.assign_splits(articles, pinned=pinned)
    assert (first["split"], last["split"]) == ("test", "dev")
    assert all(a["split"] in corpus_tools.SPLITS for a in articles)
    last["officials"].append(first["officials"][0])  # now one group, pinned to two splits
    with pytest.raises(SystemExit, match="must share a split"):
        build_corpus.assign_splits(articles, pinned=pinned)
