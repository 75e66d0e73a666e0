"""Validate the annotated corpus and compute its statistics.

``validate_corpus(articles)`` returns a list of problems (empty = valid): schema and types, offsets
that slice back to each unit, the label set, article-level split membership, unique ids, no exact or
near-duplicate sentence across splits, and the size/diversity targets of the corpus issue.
``segmentation_warnings(articles)`` checks that the project segmenter finds the same units; its
findings are warnings, not failures.

Usage:
    python training/corpus_tools.py --check            # build from raw in memory, validate, print stats
    python training/corpus_tools.py --check --corpus training/data/corpus.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

LABELS = ("meeting_report", "position_statement", "demand", "background")
SPLITS = ("train", "dev", "test")
ARTICLE_FIELDS = {
    "id": str, "lang": str, "source_style": str, "topic": str, "countries": list, "officials": list,
    "title": str, "text": str, "split": str, "sentences": list,
}  # fmt: skip
SENTENCE_FIELDS = {
    "idx": int, "start": int, "end": int, "text": str, "hard": bool, "boilerplate": bool, "paragraph": int,
}  # fmt: skip
TARGETS = {
    "min_articles": 700, "min_labeled": 12000, "lang_id": (0.70, 0.80), "min_en": 0.15, "min_ms": 0.05,
    "min_label_share": 0.12, "min_hard_share": 0.20, "min_countries": 40, "min_officials": 150,
    "max_russia_usa_share": 0.05,
}  # fmt: skip
NEAR_THRESHOLD = 0.8
NEAR_MIN_TOKENS = 6
#: Indonesian/Malay spellings of countries and bodies mapped to one English name, so a country
#: written both ways counts once.
ALIASES = {
    "amerika serikat": "United States", "as": "United States", "usa": "United States",
    "singapura": "Singapore", "filipina": "Philippines", "brasil": "Brazil", "korea selatan": "South Korea",
    "korea utara": "North Korea", "arab saudi": "Saudi Arabia", "jepang": "Japan", "kanada": "Canada",
    "uni eropa": "European Union", "kesatuan eropah": "European Union", "eu": "European Union",
    "selandia baru": "New Zealand", "papua nugini": "Papua New Guinea", "meksiko": "Mexico",
    "kamboja": "Cambodia", "kepulauan solomon": "Solomon Islands", "ekuador": "Ecuador",
    "afrika selatan": "South Africa", "palestin": "Palestine", "palestina": "Palestine", "rusia": "Russia",
    "swedia": "Sweden", "finlandia": "Finland", "polandia": "Poland", "mozambik": "Mozambique",
    "jerman": "Germany", "uni emirat arab": "United Arab Emirates", "norwegia": "Norway",
    "kamerun": "Cameroon", "uni afrika": "African Union", "perancis": "France", "prancis": "France",
    "mesir": "Egypt", "turki": "Turkey", "turkiye": "Turkey", "türkiye": "Turkey", "ukraina": "Ukraine",
    "hongaria": "Hungary", "kosta rika": "Costa Rica", "belanda": "Netherlands", "aljazair": "Algeria",
    "jamaika": "Jamaica", "kuba": "Cuba", "republik dominika": "Dominican Republic", "kolombia": "Colombia",
    "trinidad dan tobago": "Trinidad and Tobago", "pbb": "United Nations", "un": "United Nations",
    "perserikatan bangsa-bangsa": "United Nations", "inggris": "United Kingdom",
    "britania raya": "United Kingdom",
    "tiongkok": "China", "yordania": "Jordan", "irak": "Iraq", "suriah": "Syria", "libanon": "Lebanon",
    "oki": "OIC", "australia": "Australia", "selandia": "New Zealand", "italia": "Italy", "spanyol": "Spain",
}  # fmt: skip
_TOKEN_RE = re.compile(r"[^\W\d_]+")

from realism import check_realism, corpus_articles, officials_across_splits, realism_stats  # noqa: E402


def normalize_tokens(text: str) -> list[str]:
    """Lowercased word tokens with punctuation and digits removed."""
    return _TOKEN_RE.findall(text.lower())


def canonical_country(name: str) -> str:
    """One spelling per country or body (``"Amerika Serikat"`` -> ``"United States"``)."""
    key = " ".join(name.split()).lower()
    return ALIASES.get(key, " ".join(name.split()))


def labeled(article: dict[str, Any]) -> list[dict[str, Any]]:
    """The labeled (non-boilerplate) sentences of an article."""
    return [s for s in article.get("sentences") or [] if not s.get("boilerplate")]


def _type_problems(record: dict[str, Any], fields: dict[str, type], where: str) -> list[str]:
    problems = []
    for key, kind in fields.items():
        if key not in record:
            problems.append(f"{where}: missing field {key!r}")
        elif not isinstance(record[key], kind) or (kind is int and isinstance(record[key], bool)):
            problems.append(
                f"{where}: field {key!r} is {type(record[key]).__name__}, expected {kind.__name__}"
            )
    return problems


def _sentence_problems(article: dict[str, Any], sent: dict[str, Any], pos: int, prev_end: int) -> list[str]:
    where = f"{article.get('id')}#{pos}"
    problems = _type_problems(sent, SENTENCE_FIELDS, where)
    if problems:
        return problems
    if sent["idx"] != pos:
        problems.append(f"{where}: idx is {sent['idx']}, expected {pos}")
    if not 0 <= sent["start"] < sent["end"] <= len(article["text"]) or sent["start"] < prev_end:
        problems.append(f"{where}: offsets {sent['start']}:{sent['end']} out of range or overlapping")
    elif article["text"][sent["start"] : sent["end"]] != sent["text"]:
        problems.append(f"{where}: text[start:end] != sentence text ({sent['text'][:40]!r})")
    if sent["text"] != sent["text"].strip() or not sent["text"]:
        problems.append(f"{where}: empty unit or surrounding whitespace")
    if sent["boilerplate"]:
        if sent.get("label") is not None or sent["hard"]:
            problems.append(f"{where}: boilerplate unit must have label None and hard False")
    elif sent.get("label") not in LABELS:
        problems.append(f"{where}: unknown label {sent.get('label')!r}")
    hard_type = sent.get("hard_type")
    if (hard_type is not None and not isinstance(hard_type, str)) or bool(hard_type) != sent["hard"]:
        problems.append(f"{where}: hard={sent['hard']} does not match hard_type={hard_type!r}")
    if "split" in sent and sent["split"] != article.get("split"):
        problems.append(
            f"{where}: sentence split {sent['split']!r} != article split {article.get('split')!r}"
        )
    return problems


def check_schema(articles: list[dict[str, Any]]) -> list[str]:
    """Fields and types of articles and sentences, offsets, labels, hard flags."""
    problems: list[str] = []
    for n, article in enumerate(articles):
        where = f"article {article.get('id', n)!r}"
        found = _type_problems(article, ARTICLE_FIELDS, where)
        problems += found
        if found:
            continue
        if article["split"] not in SPLITS:
            problems.append(f"{where}: split {article['split']!r} not in {SPLITS}")
        if not article["sentences"] or article["title"] != article["sentences"][0].get("text"):
            problems.append(f"{where}: no sentences, or title is not the first unit")
        if not labeled(article):
            problems.append(f"{where}: no labeled sentence")
        prev_end = 0
        for pos, sent in enumerate(article["sentences"]):
            problems += _sentence_problems(article, sent, pos, prev_end)
            prev_end = sent.get("end", prev_end) if isinstance(sent.get("end"), int) else prev_end
    return problems


def check_ids_and_splits(articles: list[dict[str, Any]]) -> list[str]:
    """Unique article ids, and each article id in exactly one split."""
    splits: dict[str, set[str]] = defaultdict(set)
    counts = Counter(a.get("id") for a in articles)
    for article in articles:
        splits[article.get("id")].add(article.get("split"))
    problems = [f"duplicate article id {i!r} ({n} times)" for i, n in counts.items() if n > 1]
    problems += [
        f"split leak: article {i!r} is in splits {sorted(s)}" for i, s in splits.items() if len(s) > 1
    ]
    return problems


def check_rows_by_article(rows: list[dict[str, Any]]) -> list[str]:
    """For flat sentence rows (``load_corpus`` output): every article's sentences share one split."""
    splits: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        splits[row["article_id"]].add(row["split"])
    return [
        f"split leak: article {i!r} has sentences in {sorted(s)}" for i, s in splits.items() if len(s) > 1
    ]


def _units(articles: list[dict[str, Any]]) -> list[tuple[str, int, str, list[str]]]:
    return [
        (a["id"], s["idx"], a["split"], normalize_tokens(s["text"]))
        for a in articles
        for s in labeled(a)
        if isinstance(s.get("text"), str)
    ]


def _exact_pairs(units: list[tuple[str, int, str, list[str]]]) -> list[tuple[int, int, float]]:
    first: dict[str, dict[str, int]] = defaultdict(dict)
    pairs = []
    for i, (_, _, split, tokens) in enumerate(units):
        key = " ".join(tokens)
        if not key:
            continue
        for other_split, j in first[key].items():
            if other_split != split:
                pairs.append((j, i, 1.0))
        first[key].setdefault(split, i)
    return pairs


def _near_pairs(
    units: list[tuple[str, int, str, list[str]]], threshold: float
) -> list[tuple[int, int, float]]:
    """Cross-split pairs with token-set Jaccard >= threshold, by prefix filtering on rare-first tokens."""
    sets = {i: set(u[3]) for i, u in enumerate(units) if len(u[3]) >= NEAR_MIN_TOKENS}
    freq = Counter(tok for s in sets.values() for tok in s)
    index: dict[str, list[int]] = defaultdict(list)
    pairs = []
    for i in sorted(sets, key=lambda k: len(sets[k])):
        ordered = sorted(sets[i], key=lambda t: (freq[t], t))
        prefix = ordered[: len(ordered) - math.ceil(threshold * len(ordered)) + 1]
        candidates = {j for tok in prefix for j in index[tok]}
        for j in candidates:
            if units[j][2] == units[i][2] or len(sets[j]) < threshold * len(sets[i]):
                continue
            score = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
            if score >= threshold:
                pairs.append((min(i, j), max(i, j), round(score, 3)))
        for tok in prefix:
            index[tok].append(i)
    return pairs


def find_cross_split_duplicates(
    articles: list[dict[str, Any]], threshold: float = NEAR_THRESHOLD
) -> list[dict[str, Any]]:
    """Exact (normalized) and near (Jaccard >= threshold, >= 6 tokens) duplicates in different splits."""
    units = _units(articles)
    found = {(i, j): s for i, j, s in _near_pairs(units, threshold)}
    found.update({(i, j): s for i, j, s in _exact_pairs(units)})
    return [
        {"a": f"{units[i][0]}#{units[i][1]}", "a_split": units[i][2], "b": f"{units[j][0]}#{units[j][1]}",
         "b_split": units[j][2], "jaccard": score}
        for (i, j), score in sorted(found.items())
    ]  # fmt: skip


def _share(count: float, total: float) -> float:
    return round(count / total, 4) if total else 0.0


def _words_summary(lengths: list[int]) -> dict[str, float]:
    if not lengths:
        return {"mean": 0.0, "median": 0.0, "p90": 0.0}
    ordered = sorted(lengths)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    return {"mean": round(statistics.mean(ordered), 1), "median": statistics.median(ordered), "p90": p90}


def is_russia_usa(article: dict[str, Any]) -> bool:
    """A Russia / USA-relations story (the seeds' topic): both countries in its metadata, or Lavrov.

    Corpus v2 covers the war in Ukraine as real news does, so Russia alone no longer marks the topic.
    """
    countries = {canonical_country(c) for c in article.get("countries") or []}
    both = {"Russia", "United States"} <= countries
    return both or "lavrov" in article.get("text", "").lower()


def corpus_stats(articles: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and shares for the validator targets and the data card."""
    sents = [(a, s) for a in articles for s in labeled(a)]
    n = len(sents)
    by_lang = Counter(a["lang"] for a, _ in sents)
    labels = Counter(s["label"] for _, s in sents)
    lang_label = {
        lang: Counter(s["label"] for a, s in sents if a["lang"] == lang) for lang in sorted(by_lang)
    }
    hard_types = Counter(s["hard_type"] for _, s in sents if s.get("hard"))
    split_sents = Counter(a["split"] for a, _ in sents)
    quoted = {lang: Counter(s["label"] for a, s in sents if a["lang"] == lang and _has_quote(s["text"]))
              for lang in by_lang}  # fmt: skip
    return {
        "articles": len(articles),
        "labeled_sentences": n,
        "boilerplate_units": sum(len(a["sentences"]) for a in articles) - n,
        "articles_with_boilerplate": sum(1 for a in articles if len(labeled(a)) < len(a["sentences"])),
        "labels": dict(labels), "label_shares": {k: _share(labels[k], n) for k in LABELS},
        "lang_sentences": dict(by_lang), "lang_shares": {k: _share(v, n) for k, v in by_lang.items()},
        "lang_articles": dict(Counter(a["lang"] for a in articles)),
        "lang_label": {k: dict(v) for k, v in lang_label.items()},
        "split_articles": {sp: dict(Counter(a["lang"] for a in articles if a["split"] == sp))
                           for sp in SPLITS},
        "split_sentences": {sp: split_sents[sp] for sp in SPLITS},
        "source_styles": dict(Counter(a["source_style"] for a in articles).most_common()),
        "hard": sum(hard_types.values()), "hard_share": _share(sum(hard_types.values()), n),
        "hard_types": dict(hard_types.most_common()),
        "countries": len({canonical_country(c) for a in articles for c in a["countries"]}),
        "officials": len({" ".join(o.split()).lower() for a in articles for o in a["officials"]}),
        "russia_usa_articles": sum(1 for a in articles if is_russia_usa(a)),
        "words": {lang: _words_summary([len(s["text"].split()) for a, s in sents if a["lang"] == lang])
                  for lang in sorted(by_lang)},
        "quote_share": {lang: _share(sum(quoted[lang].values()), by_lang[lang]) for lang in sorted(by_lang)},
        "quote_share_by_label": {lang: {k: _share(quoted[lang][k], lang_label[lang][k]) for k in LABELS}
                                 for lang in sorted(by_lang)},
    }  # fmt: skip


def _has_quote(text: str) -> bool:
    return any(q in text for q in '"“”')


def check_targets(stats: dict[str, Any]) -> list[str]:
    """Size, language, label, hard-case and diversity targets of the corpus issue."""
    t, problems = TARGETS, []
    if stats["articles"] < t["min_articles"] or stats["labeled_sentences"] < t["min_labeled"]:
        problems.append(
            f"size: {stats['articles']} articles / {stats['labeled_sentences']} labeled sentences"
        )
    langs = stats["lang_shares"]
    if not t["lang_id"][0] <= langs.get("id", 0) <= t["lang_id"][1]:
        problems.append(f"Indonesian share {langs.get('id', 0):.1%} outside {t['lang_id']}")
    for lang, key in (("en", "min_en"), ("ms", "min_ms")):
        if langs.get(lang, 0) < t[key]:
            problems.append(f"{lang} share {langs.get(lang, 0):.1%} < {t[key]:.0%}")
    problems += [
        f"label {k} share {v:.1%} < 12%" for k, v in stats["label_shares"].items() if v < t["min_label_share"]
    ]
    if stats["hard_share"] < t["min_hard_share"]:
        problems.append(f"hard share {stats['hard_share']:.1%} < 20%")
    if stats["countries"] < t["min_countries"] or stats["officials"] < t["min_officials"]:
        problems.append(f"diversity: {stats['countries']} countries/bodies, {stats['officials']} officials")
    if stats["russia_usa_articles"] > t["max_russia_usa_share"] * stats["articles"]:
        problems.append(f"{stats['russia_usa_articles']} Russia/USA articles > 5%")
    return problems


def validate_corpus(articles: list[dict[str, Any]], *, targets: bool = True) -> list[str]:
    """All problems of a corpus (empty list = valid). ``targets=False`` skips the size/share targets."""
    problems = check_schema(articles) + check_ids_and_splits(articles)
    if problems:
        return problems
    problems += [
        f"cross-split duplicate: {d['a']} ({d['a_split']}) ~ {d['b']} ({d['b_split']}), "
        f"jaccard {d['jaccard']}"
        for d in find_cross_split_duplicates(articles)
    ]
    problems += [
        f"invented official {name!r} appears in several splits" for name in officials_across_splits(articles)
    ]
    if not targets:
        return problems
    return (
        problems
        + check_targets(corpus_stats(articles))
        + check_realism(realism_stats(corpus_articles(articles)))
    )


def segmentation_agreement(articles: list[dict[str, Any]]) -> dict[str, Any]:
    """How many corpus units the project segmenter reproduces (same span; same boilerplate flag)."""
    from kontak_nlp.segment import segment

    total = spans = flags = 0
    misses: list[str] = []
    for article in articles:
        found = {(u.start, u.end): u for u in segment(article["text"]).units}
        for sent in article["sentences"]:
            total += 1
            unit = found.get((sent["start"], sent["end"]))
            if unit is None:
                misses.append(f"{article['id']}#{sent['idx']}: span not reproduced ({sent['text'][:60]!r})")
                continue
            spans += 1
            if unit.boilerplate == sent["boilerplate"]:
                flags += 1
            else:
                misses.append(f"{article['id']}#{sent['idx']}: boilerplate={sent['boilerplate']} "
                              f"but segmenter says {unit.boilerplate} ({sent['text'][:60]!r})")  # fmt: skip
    return {"units": total, "span_agreement": _share(spans, total), "flag_agreement": _share(flags, total),
            "mismatches": misses}  # fmt: skip


def segmentation_warnings(articles: list[dict[str, Any]]) -> list[str]:
    """Units the segmenter does not reproduce (warnings, not failures)."""
    return segmentation_agreement(articles)["mismatches"]


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Articles from a corpus JSONL file."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def build_in_memory() -> list[dict[str, Any]]:
    """The corpus as ``build_corpus.build()`` would write it, without writing."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build_corpus

    return build_corpus.build_articles()


def main(argv: list[str] | None = None) -> int:
    """CLI: validate, print stats and warnings; exit 1 on problems."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="validate and exit non-zero on problems")
    parser.add_argument(
        "--corpus", type=Path, help="a built corpus.jsonl (default: build from raw in memory)"
    )
    args = parser.parse_args(argv)
    articles = load_jsonl(args.corpus) if args.corpus else build_in_memory()
    stats = corpus_stats(articles)
    seg = segmentation_agreement(articles)
    print(json.dumps(stats, ensure_ascii=False, indent=1))
    print(f"segmenter: spans {seg['span_agreement']:.2%}, boilerplate flags {seg['flag_agreement']:.2%}")
    for warning in seg["mismatches"]:
        print("WARNING", warning)
    problems = validate_corpus(articles)
    for problem in problems:
        print("PROBLEM", problem)
    print(f"{len(problems)} problem(s), {len(seg['mismatches'])} segmentation warning(s)")
    return 1 if args.check and problems else 0


if __name__ == "__main__":
    sys.exit(main())
