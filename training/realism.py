"""How much the corpus looks like real news: the distribution figures of issue 15, and their targets.

Computes, for the corpus and (when ``../shared`` is present) for the real development set, the article
shapes (lead and headline labels, label coverage, length), the borders the model gets wrong on real
news (stances with neither quote nor speech verb, background in reported speech, dated sentences,
connective-led and short rows, conflict content) and cue-word transfer. ``check_realism`` turns the
issue's targets into a list of problems; the corpus validator and its test call it.

Usage:
    python training/realism.py                       # corpus v2 vs real-dev, as a markdown table
    python training/realism.py --tfidf               # also the TF-IDF + LR corpus-test vs real-dev gap
    python training/realism.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kontak_nlp.evaluation import features as F  # noqa: E402

LABELS = ("meeting_report", "position_statement", "demand", "background")
MR, PS, DE, BG = LABELS
#: Real English label mix (REALNEWS-FACTS.md), which the English corpus must stay within 10 points of.
REAL_EN_MIX = {MR: 0.24, PS: 0.63, DE: 0.07, BG: 0.05}
_DATELINE = re.compile(r"^[A-Z][\w.'’]*(?:[ ,/]+[\w.'’]+){0,4}\s*,?\s*(?:\([^)]{0,40}\)\s*)?[-–—]\s+")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_CUES: dict[str, tuple[str, str]] = {
    "meminta -> demand": (r"\bmeminta\b", DE),
    "jika -> demand": (r"\bjika\b", DE),
    "perlu -> demand": (r"\bperlu\b", DE),
    "menteri luar -> meeting_report": (r"\bmenteri luar\b", MR),
    "weekday -> meeting_report": (F._WEEKDAY.pattern, MR),
}

#: (metric, comparison, threshold): the corpus targets of issue 15, checked by ``check_realism``.
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("meeting_lead_share", "<=", 0.50),
    ("position_headline_share", ">=", 0.35),
    ("all_four_labels_share", "<=", 0.50),
    ("min_article_sentences", "<=", 7),
    ("max_article_sentences", ">=", 40),
    ("position_no_quote_no_speech_share", ">=", 0.30),
    ("background_reported_speech_share", ">=", 0.04),
    ("conflict_share", ">=", 0.15),
    ("connective_led_share", ">=", 0.07),
    ("short_row_share", ">=", 0.03),
    ("dated_meeting_share", "<=", 0.50),
    ("top_opening_share", "<=", 0.003),
    ("en_mix_max_gap", "<=", 0.10),
    ("ms_share", ">=", 0.05),
)


def strip_dateline(text: str) -> str:
    """The sentence without a leading dateline ("JAKARTA, KOMPAS.com -", "LONDON (Reuters) -").

    Example:
        >>> strip_dateline("JAKARTA, KOMPAS.com - Menlu bertemu Dubes.")
        'Menlu bertemu Dubes.'
    """
    match = _DATELINE.match(text)
    return text[match.end() :] if match and match.end() <= 45 else text


def opening(text: str, n: int = 3) -> str | None:
    """The first ``n`` words of a sentence (lower-cased, dateline and punctuation removed), or None."""
    words = _WORD.findall(strip_dateline(text).lower())
    return " ".join(words[:n]) if len(words) >= n else None


def corpus_articles(corpus: list[dict[str, Any]], split: str | None = None) -> list[dict[str, Any]]:
    """Corpus articles as ``{"id", "lang", "rows": [(text, label), ...]}`` (headline first, no furniture)."""
    return [
        {
            "id": a["id"],
            "lang": a["lang"],
            "rows": [(s["text"], s["label"]) for s in a["sentences"] if s["label"]],
        }
        for a in corpus
        if split is None or a["split"] == split
    ]


def realdev_articles(path: Path) -> list[dict[str, Any]]:
    """Real-dev rows grouped into articles, in sentence order (``sent_idx`` 0 is the headline)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            grouped[row["doc_id"]].append(row)
    return [
        {
            "id": doc,
            "lang": rows[0]["lang"],
            "rows": [(r["text"], r["label"]) for r in sorted(rows, key=_idx)],
        }
        for doc, rows in grouped.items()
    ]


def _idx(row: dict[str, Any]) -> int:
    return int(row["sent_idx"])


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _share_where(rows: list[tuple[str, str]], test: Callable[[str, str], bool]) -> float:
    return _share(sum(1 for t, lab in rows if test(t, lab)), len(rows))


def _label_share_among(rows: list[tuple[str, str]], feature: Callable[[str], bool], label: str) -> float:
    hits = [lab for t, lab in rows if feature(t)]
    return _share(sum(1 for lab in hits if lab == label), len(hits))


def article_stats(articles: list[dict[str, Any]]) -> dict[str, float]:
    """Article-level shapes: lead and headline labels, label coverage, length spread."""
    lengths = [len(a["rows"]) for a in articles]
    with_body = [a for a in articles if len(a["rows"]) > 1]
    return {
        "articles": len(articles),
        "meeting_lead_share": _share(sum(a["rows"][1][1] == MR for a in with_body), len(with_body)),
        "position_headline_share": _share(sum(a["rows"][0][1] == PS for a in articles), len(articles)),
        "meeting_headline_share": _share(sum(a["rows"][0][1] == MR for a in articles), len(articles)),
        "all_four_labels_share": _share(
            sum(len({lab for _, lab in a["rows"]}) == 4 for a in articles), len(articles)
        ),
        "min_article_sentences": min(lengths),
        "median_article_sentences": statistics.median(lengths),
        "max_article_sentences": max(lengths),
    }


def sentence_stats(rows: list[tuple[str, str]]) -> dict[str, float]:
    """Sentence-level borders, register and cue-word transfer."""
    positions = [t for t, lab in rows if lab == PS]
    dated = [lab for t, lab in rows if F.is_dated(t)]
    openings = Counter(o for o in (opening(t) for t, _ in rows) if o)
    top = openings.most_common(1)
    out = {
        "sentences": len(rows),
        "position_no_quote_no_speech_share": _share(
            sum(not F.has_quote(t) and not F.has_speech_verb(t) for t in positions), len(positions)
        ),
        "background_reported_speech_share": _share_where(
            rows, lambda t, lab: lab == BG and (F.has_speech_verb(t) or F.has_quote(t))
        ),
        "conflict_share": _share_where(rows, lambda t, _: F.is_conflict(t)),
        "connective_led_share": _share_where(rows, lambda t, _: F.is_connective_led(t)),
        "short_row_share": _share_where(rows, lambda t, _: F.is_short_row(t)),
        "long_row_share": _share_where(rows, lambda t, _: len(t.split()) >= 41),
        "question_share": _share_where(rows, lambda t, _: t.rstrip("\"”' ").endswith("?")),
        "second_hand_share": _share_where(rows, lambda t, _: F.is_second_hand(t)),
        "social_media_share": _share_where(rows, lambda t, _: F.is_social_media(t)),
        "parentheses_share": _share_where(rows, lambda t, _: "(" in t),
        "real_leader_share": _share_where(rows, lambda t, _: F.names_real_leader(t)),
        "quote_share": _share_where(rows, lambda t, _: F.has_quote(t)),
        "dated_share": _share(len(dated), len(rows)),
        "dated_meeting_share": _share(sum(lab == MR for lab in dated), len(dated)),
        "top_opening": top[0][0] if top else "",
        "top_opening_share": _share(top[0][1], len(rows)) if top else 0.0,
    }
    for name, (pattern, label) in _CUES.items():
        regex = re.compile(pattern, re.IGNORECASE if "weekday" not in name else 0)
        out[f"cue {name}"] = _label_share_among(rows, lambda t, r=regex: bool(r.search(t)), label)
    return out


def realism_stats(articles: list[dict[str, Any]]) -> dict[str, Any]:
    """All figures for a set of articles, overall and per language."""
    rows = [r for a in articles for r in a["rows"]]
    by_lang: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for a in articles:
        by_lang[a["lang"]].extend(a["rows"])
    stats: dict[str, Any] = {**article_stats(articles), **sentence_stats(rows)}
    stats["label_mix"] = {
        lang: {lab: _share(sum(1 for _, x in lr if x == lab), len(lr)) for lab in LABELS}
        for lang, lr in sorted(by_lang.items())
    }
    en_mix = stats["label_mix"].get("en")
    stats["en_mix_max_gap"] = max(abs(en_mix[k] - REAL_EN_MIX[k]) for k in LABELS) if en_mix else 1.0
    stats["ms_share"] = _share(len(by_lang.get("ms", [])), len(rows))
    return stats


def check_realism(stats: dict[str, Any], targets: Iterable[tuple[str, str, float]] = TARGETS) -> list[str]:
    """The targets a corpus misses, as readable problems (empty list: all met).

    Example:
        >>> check_realism({"ms_share": 0.02}, [("ms_share", ">=", 0.05)])
        ['realism: ms_share 0.02 >= 0.05 not met']
    """
    problems = []
    for metric, op, threshold in targets:
        value = stats[metric]
        ok = value <= threshold if op == "<=" else value >= threshold
        if not ok:
            problems.append(f"realism: {metric} {value:.3g} {op} {threshold:g} not met")
    return problems


_ANALYST = re.compile(r"\b(pengamat|analis|analyst|pakar|penganalisis)\b", re.IGNORECASE)
_CLOSER = re.compile(r"\b(berikutnya|mendatang|akan datang|next (?:round|meeting|talks)|seterusnya)\b", re.I)


def template_score(article: dict[str, Any], common_openings: set[str]) -> int:
    """How much a corpus article follows the v1 template (meeting headline and lead, all four labels,
    an analyst quote, a next-meeting closer, formulaic openings). Used to pick v1 articles to retire."""
    rows = article["rows"]
    score = int(rows[0][1] == MR) + int(len(rows) > 1 and rows[1][1] == MR)
    score += int(len({lab for _, lab in rows}) == 4)
    score += int(any(_ANALYST.search(t) for t, _ in rows))
    score += int(bool(_CLOSER.search(rows[-1][0])) and rows[-1][1] == MR)
    return score + sum(1 for t, _ in rows if opening(t) in common_openings)


def most_templated(articles: list[dict[str, Any]], n: int, top_openings: int = 25) -> list[str]:
    """Ids of the ``n`` articles with the highest :func:`template_score` (ties: by id)."""
    counts = Counter(o for a in articles for o in (opening(t) for t, _ in a["rows"]) if o)
    common = {o for o, _ in counts.most_common(top_openings)}
    ranked = sorted(articles, key=lambda a: (-template_score(a, common), a["id"]))
    return [a["id"] for a in ranked[:n]]


def officials_across_splits(corpus: list[dict[str, Any]]) -> list[str]:
    """Invented officials that appear in more than one split (must be none)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for a in corpus:
        for name in a.get("officials") or []:
            seen[" ".join(name.split()).lower()].add(a["split"])
    return sorted(name for name, splits in seen.items() if len(splits) > 1)


def tfidf_gap(corpus: list[dict[str, Any]], realdev: Path) -> dict[str, float]:
    """TF-IDF + LR trained on the corpus train split: macro-F1 on corpus test and on real-dev."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline

    def rows(split: str) -> list[tuple[str, str]]:
        return [r for a in corpus_articles(corpus, split) for r in a["rows"]]

    train, test = rows("train"), rows("test")
    real = [r for a in realdev_articles(realdev) for r in a["rows"]]
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced"),
    )
    model.fit([t for t, _ in train], [lab for _, lab in train])
    scores = {
        name: f1_score([lab for _, lab in data], model.predict([t for t, _ in data]), average="macro")
        for name, data in (("corpus_test", test), ("realdev", real))
    }
    scores["gap"] = scores["corpus_test"] - scores["realdev"]
    return scores


def shared_dir() -> Path | None:
    """``$KONTAK_SHARED_DIR`` or ``../shared`` next to the repository, if it exists."""
    path = Path(os.environ.get("KONTAK_SHARED_DIR") or HERE.parent.parent / "shared")
    return path if path.is_dir() else None


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def comparison_table(corpus: dict[str, Any], real: dict[str, Any] | None) -> str:
    """A markdown table: metric, corpus value, real-dev value, target."""
    targets = {m: f"{op} {t:g}" for m, op, t in TARGETS}
    lines = ["| metric | corpus | real-dev | target |", "|---|---|---|---|"]
    for key, value in corpus.items():
        if key in ("label_mix", "top_opening"):  # the opening itself is text: never printed for real-dev
            continue
        other = real.get(key, "") if real else ""
        lines.append(f"| {key} | {_fmt(value)} | {_fmt(other)} | {targets.get(key, '')} |")
    for lang, mix in corpus["label_mix"].items():
        real_mix = (real or {}).get("label_mix", {}).get(lang, {})
        show = "/".join(f"{mix[k]:.2f}" for k in LABELS)
        other = "/".join(f"{real_mix[k]:.2f}" for k in LABELS) if real_mix else ""
        lines.append(f"| label mix {lang} (M/P/D/B) | {show} | {other} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=HERE / "data" / "corpus.jsonl")
    parser.add_argument("--tfidf", action="store_true", help="also train TF-IDF + LR and report the gap")
    parser.add_argument("--json", type=Path, help="write all figures as JSON")
    parser.add_argument(
        "--suggest-retire", type=int, metavar="N", help="print the N most template-like v1 ids"
    )
    args = parser.parse_args(argv)
    corpus = [
        json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    if args.suggest_retire:
        v1 = [a for a in corpus_articles(corpus) if not a["id"].startswith("v2")]
        print("\n".join(most_templated(v1, args.suggest_retire)))
        return 0
    ours = realism_stats(corpus_articles(corpus))
    shared = shared_dir()
    realdev = shared / "data" / "realdev" / "realdev.jsonl" if shared else None
    real = realism_stats(realdev_articles(realdev)) if realdev and realdev.exists() else None
    print(comparison_table(ours, real))
    problems = check_realism(ours) + [
        f"official in several splits: {n}" for n in officials_across_splits(corpus)
    ]
    print("\n" + ("\n".join(problems) if problems else "all realism targets met"))
    out: dict[str, Any] = {"corpus": ours, "realdev": real, "problems": problems}
    if args.tfidf and realdev and realdev.exists():
        out["tfidf"] = tfidf_gap(corpus, realdev)
        print("\nTF-IDF + LR (corpus train): " + ", ".join(f"{k} {v:.3f}" for k, v in out["tfidf"].items()))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
