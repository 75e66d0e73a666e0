"""Write the corpus data card ``training/data/README.md``; every figure in it is computed here.

Reads the raw articles (built in memory exactly as ``build_corpus.py`` builds them) and the label-audit
files in ``training/data/audit/``.

Usage:
    python training/make_datacard.py                 # writes training/data/README.md
    python training/make_datacard.py --out /tmp/README.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus_tools as ct  # noqa: E402
from label_audit import AUDITS  # noqa: E402

OUT = HERE / "data" / "README.md"
#: Cue words as REALNEWS-FACTS counts them (Indonesian list from there; English/Malay equivalents ours).
MEETING_WORDS = {
    "id": r"bertemu|pertemuan|pembicaraan|berbicara|telepon|kunjungan|ktt|bilateral",
    "en": r"meet|meets|met|meeting|meetings|talks|spoke|speak|call|phone|visit|visited|summit|bilateral",
    "ms": r"bertemu|pertemuan|perbincangan|berbincang|telefon|lawatan|kunjungan|sidang kemuncak|ktt|dua hala",
}
DEMAND_WORDS = {
    "id": r"mendesak|menuntut|menyerukan|meminta|harus|agar|mengimbau",
    "en": r"urge[sd]?|urging|demand(?:s|ed)?|call(?:s|ed)? (?:on|for)|ask(?:s|ed)?|must",
    "ms": r"mendesak|menuntut|menggesa|menyeru|meminta|mesti|harus|agar|supaya",
}
SPEECH_VERBS = r"kata|katanya|mengatakan|ujar|ujarnya|menegaskan|menilai|menyatakan"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def _has(pattern: str, text: str) -> bool:
    return re.search(rf"\b(?:{pattern})\b", text.lower()) is not None


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def cue_stats(articles: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per language: how often cue words accompany their label, and how often they mislead."""
    out: dict[str, dict[str, Any]] = {}
    for lang in sorted({a["lang"] for a in articles}):
        sents = [s for a in articles if a["lang"] == lang for s in ct.labeled(a)]
        meet_hits = Counter(s["label"] for s in sents if _has(MEETING_WORDS[lang], s["text"]))
        dem_hits = Counter(s["label"] for s in sents if _has(DEMAND_WORDS[lang], s["text"]))
        labels = Counter(s["label"] for s in sents)
        speech = Counter(s["label"] for s in sents if _has(SPEECH_VERBS, s["text"]))
        out[lang] = {
            "reports_with_meeting_word": (meet_hits["meeting_report"], labels["meeting_report"]),
            "meeting_word_sentences": dict(meet_hits),
            "demands_with_demand_word": (dem_hits["demand"], labels["demand"]),
            "demand_word_sentences": dict(dem_hits),
            "speech_verb_sentences": dict(speech),
        }
    return out


def _cue_section(cues: dict[str, dict[str, Any]]) -> str:
    rows = []
    for lang, c in cues.items():
        meet, dem = c["meeting_word_sentences"], c["demand_word_sentences"]
        rows.append([
            lang, _pct(*c["reports_with_meeting_word"]),
            _pct(meet.get("meeting_report", 0), sum(meet.values())),
            f"{_pct(meet.get('position_statement', 0), sum(meet.values()))} / "
            f"{_pct(meet.get('background', 0), sum(meet.values()))}",
            _pct(*c["demands_with_demand_word"]), _pct(dem.get("demand", 0), sum(dem.values())),
        ])  # fmt: skip
    speech = cues.get("id", {}).get("speech_verb_sentences", {})
    speech_row = ", ".join(f"{k} {_pct(speech.get(k, 0), sum(speech.values()))}" for k in ct.LABELS)
    header = [
        "lang", "meeting reports with a meeting word", "meeting-word sentences that are meeting reports",
        "... position / background", "demands with a demand word", "demand-word sentences that are demands",
    ]  # fmt: skip
    return (
        "Computed as REALNEWS-FACTS.md describes (whole-word match, lowercase). Real news: about half of "
        "meeting reports carry a meeting word; 70% of Indonesian meeting-word sentences are meeting "
        "reports; 49% of Indonesian demands (29% English) carry a demand word; 55% of Indonesian "
        "demand-word sentences are demands.\n\n"
        + _table(header, rows)
        + f"\n\nIndonesian sentences with a speech verb (kata, mengatakan, ujar, menegaskan, menilai, "
        f"menyatakan), by label: {speech_row} (real news: 74% / 10% / 9% / 8%).\n"
        + "\nWord lists: "
        + "; ".join(f"{lang} meeting `{MEETING_WORDS[lang]}`, demand `{DEMAND_WORDS[lang]}`" for lang in cues)
        + ".\n"
    )


def _counts_section(stats: dict[str, Any]) -> str:
    langs = sorted(stats["lang_label"])
    n, by_lang = stats["labeled_sentences"], stats["lang_label"]
    label_rows = [
        [lab, stats["labels"][lab], _pct(stats["labels"][lab], n)]
        + [
            f"{by_lang[g].get(lab, 0)} ({_pct(by_lang[g].get(lab, 0), stats['lang_sentences'][g])})"
            for g in langs
        ]
        for lab in ct.LABELS
    ]
    lang_rows = [
        [g, stats["lang_articles"][g], stats["lang_sentences"][g], _pct(stats["lang_sentences"][g], n)]
        for g in langs
    ]
    split_rows = [
        [sp, sum(stats["split_articles"][sp].values()), stats["split_sentences"][sp]]
        + [stats["split_articles"][sp].get(g, 0) for g in langs]
        for sp in ct.SPLITS
    ]
    style_rows = [[k, v, _pct(v, stats["articles"])] for k, v in stats["source_styles"].items()]
    return "\n\n".join([
        "### Labels\n\n"
        + _table(["label", "sentences", "share", *[f"{g} (share)" for g in langs]], label_rows),
        "### Languages\n\n"
        + _table(["lang", "articles", "labeled sentences", "share of sentences"], lang_rows),
        "### Splits (by article, stratified by language)\n\n"
        + _table(["split", "articles", "labeled sentences", *[f"{g} articles" for g in langs]], split_rows),
        "### Source styles\n\n" + _table(["source style", "articles", "share"], style_rows),
    ])  # fmt: skip


def _hard_section(stats: dict[str, Any]) -> str:
    rows = [[k, v, _pct(v, stats["labeled_sentences"])] for k, v in stats["hard_types"].items()]
    return (
        f"{stats['hard']} of {stats['labeled_sentences']} labeled sentences "
        f"({_pct(stats['hard'], stats['labeled_sentences'])}) are tagged as deliberately hard "
        "(one category each; `hard_type` in the corpus):\n\n"
        + _table(["hard category", "sentences", "share of all labeled"], rows)
        + "\n"
    )


def _shape_section(stats: dict[str, Any]) -> str:
    real = {"id": ("19", "17", "30", "21%"), "en": ("20", "20", "31", "34%"), "ms": ("-", "-", "-", "-")}
    rows = []
    for g, w in stats["words"].items():
        r = real.get(g, ("-",) * 4)
        rows.append([g, f"{w['mean']} ({r[0]})", f"{w['median']} ({r[1]})", f"{w['p90']} ({r[2]})",
                     f"{_pct(stats['quote_share'][g], 1)} ({r[3]})"])  # fmt: skip
    by_label = [
        [g] + [_pct(stats["quote_share_by_label"][g][lab], 1) for lab in ct.LABELS] for g in stats["words"]
    ]
    return (
        "Words per labeled sentence (whitespace tokens) and share of sentences with quotation marks; "
        "real-news figures from REALNEWS-FACTS.md in parentheses (none published for Malay).\n\n"
        + _table(["lang", "mean words", "median", "p90", "with quotes"], rows)
        + "\n\nShare of sentences with quotation marks, by label (real news: position statements 37% id / "
        "46% en, demands 32% / 36%, meeting reports 10%, background 0-7%):\n\n"
        + _table(["lang", *ct.LABELS], by_label)
        + "\n"
    )


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _audit_section(directory: Path, who: str) -> str:
    path = directory / "audit_report.json"
    if not path.exists():
        return "The label audit has not been run yet (`python training/label_audit.py report`).\n"
    rep = json.loads(path.read_text(encoding="utf-8"))
    res = _read_jsonl(directory / "resolutions.jsonl")
    folder = directory.name
    verdicts = Counter(r["verdict"] for r in res)
    before = rep["before"]
    matrix = [[f"**{lab}**", *row] for lab, row in zip(ct.LABELS, before["confusion"])]
    langs = ", ".join(f"{g} {v['kappa']:.3f} (n={v['n']})" for g, v in before["by_lang"].items())
    after = rep.get("after") or {}
    return (
        f"A second annotator ({who}) relabeled {before['n']} sentences blind, from the sample file "
        "(no labels; previous and next unit as context) and the guidelines only. The seeded sample is "
        "stratified: a fixed number per language and, within a language, the same number per label, so "
        "rarer labels weigh more than in the corpus; articles whose labels the auditor had read while "
        "building the tools were left out. "
        f"Agreement with the writers' labels **before resolution**: raw agreement "
        f"{before['agreement']:.1%}, **Cohen's kappa {before['kappa']:.3f}** (by language: {langs}).\n\n"
        "Confusion between passes (rows: first pass = writers, columns: second pass):\n\n"
        + _table(["first \\ second", *ct.LABELS], matrix)
        + f"\n\nAll {before['n'] - round(before['agreement'] * before['n'])} disagreements were reviewed: "
        f"{verdicts.get('first_wrong', 0)} corpus labels were corrected in the raw files, "
        f"{verdicts.get('second_wrong', 0)} were second-pass errors, "
        f"{verdicts.get('both_defensible', 0)} were judged defensible either way (corpus label kept; rule "
        "added to `training/GUIDELINES.md`). "
        + (f"After the fixes, kappa between the corpus and the (unchanged) second pass is "
           f"{after['kappa']:.3f} ({after['agreement']:.1%} raw agreement, n={after['n']}).\n"
           if after else "\n")
        + f"Files: `{folder}/audit_sample.jsonl`, `{folder}/second_pass.jsonl`, `{folder}/first_pass.jsonl`, "
        f"`{folder}/audit_report.json`, `{folder}/audit_disagreements.jsonl`, `{folder}/resolutions.jsonl`.\n"
    )  # fmt: skip


def _diversity_section(stats: dict[str, Any], articles: list[dict[str, Any]]) -> str:
    countries = Counter(ct.canonical_country(c) for a in articles for c in a["countries"])
    topics = len({a["topic"] for a in articles})
    top = ", ".join(f"{c} {n}" for c, n in countries.most_common(8))
    return (
        f"- {stats['countries']} distinct countries and international bodies in the article metadata "
        f"(Indonesian and English spellings merged); most frequent: {top} (articles).\n"
        f"- {stats['officials']} distinct named officials, all invented.\n"
        f"- {topics} distinct topic tags; {stats['russia_usa_articles']} Russia/USA-relations articles "
        f"({_pct(stats['russia_usa_articles'], stats['articles'])}, limit 5%).\n"
        f"- {stats['articles_with_boilerplate']} articles carry site furniture "
        f"({stats['boilerplate_units']} unlabeled boilerplate units).\n"
    )


def _limits_section(stats: dict[str, Any], articles: list[dict[str, Any]]) -> str:
    indonesia = sum(1 for a in articles if "Indonesia" in {ct.canonical_country(c) for c in a["countries"]})
    en_bg = stats["lang_label"].get("en", {}).get("background", 0)
    writers = len({a["id"].split("-")[0] for a in articles})
    return (
        f"- Indonesia-centred: {_pct(indonesia, stats['articles'])} of articles involve Indonesia; "
        "other bilateral relations are thinner.\n"
        f"- Written, not scraped: {stats['articles']} articles in {writers} writer batches, so vocabulary, "
        "outlet names and article shapes are less varied than real news, and hard cases are planted on "
        "purpose (their share is higher than the natural rate).\n"
        f"- `demand` is over-represented ({_pct(stats['labels']['demand'], stats['labeled_sentences'])} "
        "vs about 8% in real news), by design (no label under 12%).\n"
        f"- English background sentences are {_pct(en_bg, stats['lang_sentences'].get('en', 0))} of English "
        "sentences, more than the 5% measured in real English news.\n"
        f"- Malay is only {_pct(stats['lang_sentences'].get('ms', 0), stats['labeled_sentences'])} of "
        "sentences; no real-news Malay figures exist to compare against.\n"
        "- Single first-pass annotation (the writer), audited on samples only; see the audits below.\n"
        "- Events are invented but set among real countries and organisations, so dates and facts are "
        "plausible, not true; do not use the corpus as a source of facts.\n"
    )


def _realism_section(articles: list[dict[str, Any]]) -> str:
    """Corpus vs real-news shape figures (``training/realism.py``); real-dev column when ../shared exists."""
    import realism

    ours = realism.realism_stats(realism.corpus_articles(articles))
    shared = realism.shared_dir()
    path = shared / "data" / "realdev" / "realdev.jsonl" if shared else None
    real = realism.realism_stats(realism.realdev_articles(path)) if path and path.exists() else None
    problems = realism.check_realism(ours)
    verdict = "all targets met" if not problems else "; ".join(problems)
    return (
        "Figures computed by `python training/realism.py` (targets from issue 15; the real-dev column is "
        "filled when `../shared` is present; only figures, never text, of the real set are used).\n\n"
        + realism.comparison_table(ours, real)
        + f"\n\nTargets: {verdict}.\n"
    )


def _v2_section() -> str:
    return (
        "Corpus v2 (issue 15) keeps 260 of the 320 v1 articles and adds 490 new ones (prefixes `v2a`-`v2f`), "
        "written under `training/data/WRITING-V2.md` to look like real online news: portal style (one "
        "sentence per paragraph), stance headlines, leads that are often not meetings, articles without all "
        "four labels, 7-40 sentences, conflict and security content, well-known real leaders (never with an "
        "invented direct quote), and the borders where models trained on v1 failed on real news (stances "
        "with neither quote nor speech verb, background in reported speech, meeting reports without a "
        "meeting word, dated non-meetings, connective-led and short rows, denied meetings). The 60 most "
        "template-like v1 articles are retired (`data/retired_v1.txt`, ranked by "
        "`realism.py --suggest-retire`); 22 formulaic v1 openings were reworded; all v1 labels were "
        "rechecked against GUIDELINES v1.2 (`audit/v12_recheck.jsonl`).\n"
    )


def _v3_section() -> str:
    return (
        "Corpus v3 adds 162 articles (prefixes `v3a`-`v3f`), written under `training/data/WRITING-V3.md` "
        "for the kinds of sentences the v2 model still got wrong on real news, as the evaluation harness "
        "measured them on real-dev (the writers saw only the kinds, described with invented examples, "
        "never the real sentences): background inside meeting and visit stories (what a desk, fund or "
        "procedure does; the framing of a visit), facts that sound like opinions (referendums, polls, "
        "markets, factual emphasis), meeting reports without meeting words (ceremonies, site tours, letters "
        "of intent, agreements announced in quotes, lobbying), judgments and openness told around meetings, "
        "necessity and assurances that are not demands, and requests without demand words. 8 more "
        "template-like v1 articles were retired.\n"
    )


def _v4_v5_section() -> str:
    return (
        "Corpus v4 adds 64 articles (prefixes `v4a`-`v4d`), written under `training/data/WRITING-V4.md` "
        "for the demand borders: a meeting and a call in one sentence, demands as nouns, public appeals, "
        'needs and musts aimed at another party, pressure campaigns, conditions without "jika", and '
        "demand-looking sentences that are not demands. Corpus v5 adds 78 articles (prefixes `v5a`-`v5f`), "
        "written under `training/data/WRITING-V5.md` for the confusion pairs the v4 model left on real-dev: "
        "deal terms and their items, outcomes of negotiation and lobbying, ceremony and programme of "
        "visits, sessions and decisions of multilateral bodies, facts told through explanation verbs, "
        "evaluative-sounding context that is nobody's stance, a government's own measures, denied "
        "contacts and a judgment with a call in one sentence. Splits are "
        "append-stable (`data/splits.tsv`): each round splits only its own new articles.\n"
    )


def render(articles: list[dict[str, Any]]) -> str:
    """The data card as Markdown."""
    stats = ct.corpus_stats(articles)
    problems = ct.validate_corpus(articles)
    seg = ct.segmentation_agreement(articles)
    return "\n".join([
        "# kontak_nlp diplomatic-news corpus (data card)\n",
        "_Generated by `python training/make_datacard.py`; do not edit by hand._\n",
        "## How it was written\n",
        f"{stats['articles']} original news articles ({stats['labeled_sentences']} labeled sentences) "
        "written for this project by its writers under `training/GUIDELINES.md` (which refines the shared "
        "annotation guidelines). Each is a whole story in the register of wire, portal, newspaper, "
        "broadcaster or government-release journalism: headline, dateline, lead, attributed quotes, "
        "background. People are invented; countries, organisations and institutions are real. No text "
        "was copied or paraphrased from real news. **Template/augmentation share: 0%** (no "
        "template-generated or entity-swapped sentences). Each unit was labeled by its writer with one "
        "of four labels and, where deliberately difficult, a hard-case category.\n",
        f"Validator (`python training/corpus_tools.py --check`): {len(problems)} problems. "
        f"Project segmenter reproduces {seg['span_agreement']:.2%} of unit spans and "
        f"{seg['flag_agreement']:.2%} of boilerplate flags.\n",
        "## Format and loading\n",
        "`training/data/corpus.jsonl`, one article per line (`id, lang, source_style, topic, countries, "
        "officials, title, text, split, sentences[idx, start, end, text, label, hard, hard_type, "
        "boilerplate, paragraph]`), `text[start:end] == sentence text`. Boilerplate units have "
        "`label: null`. Load with `kontak_nlp.data.load_corpus(split)` (sentences) or "
        "`load_articles(split)` (articles); rebuild with `python training/build_corpus.py`. The split is "
        "seeded and by groups of articles: articles that share an invented official, or an exact or "
        "near-duplicate sentence (token Jaccard >= 0.8), always land in the same split.\n",
        "## Counts\n", _counts_section(stats) + "\n",
        "## Hard cases\n", _hard_section(stats),
        "## Sentence shape vs real news\n", _shape_section(stats),
        "## Cue words\n", _cue_section(cue_stats(articles)),
        "## Diversity\n", _diversity_section(stats, articles),
        "## Corpus v2\n", _v2_section(),
        "## Corpus v3\n", _v3_section(),
        "## Corpora v4 and v5\n", _v4_v5_section(),
        "## Shape against real news\n", _realism_section(articles),
        *(part for name, audit in AUDITS.items() for part in (
            f"## Label audit ({name})\n", _audit_section(audit.directory, audit.second_annotator))),
        "## Known biases and limits\n", _limits_section(stats, articles),
        "## License\n",
        "Apache-2.0, the same license as kontak_nlp; the text is the project's own work.\n",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """CLI: render and write the data card."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--corpus", type=Path, help="a built corpus.jsonl (default: build from raw in memory)"
    )
    args = parser.parse_args(argv)
    articles = ct.load_jsonl(args.corpus) if args.corpus else ct.build_in_memory()
    args.out.write_text(render(articles), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
