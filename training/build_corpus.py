"""Assemble the hand-written raw articles into ``training/data/corpus.jsonl`` with offsets and splits.

Raw files (``training/data/raw/*.jsonl``) hold one article per line as paragraphs of labeled units.
This script joins units with a space and paragraphs with a blank line, records each unit's char
offsets, and assigns a fixed article-level train/dev/test split (80/10/10, stratified by language).
Splits are append-stable: ``data/splits.tsv`` records every article's split, articles listed there keep
it, and only new articles are split (among themselves), so adding a writing round never moves an
article that a shipped model was trained or tested on.

It also writes a gzip copy into the package (``kontak_nlp/resources/corpus.jsonl.gz``), which
``kontak_nlp.data.load_corpus`` reads in an installed wheel where ``training/`` does not exist.

Usage:
    python training/build_corpus.py            # writes training/data/corpus.jsonl and the package copy
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RAW_DIR = HERE / "data" / "raw"
CORPUS = HERE / "data" / "corpus.jsonl"
PACKAGE_COPY = HERE.parent / "kontak_nlp" / "resources" / "corpus.jsonl.gz"
SPLIT_SEED = 20251125
SPLIT_SHARES = (("train", 0.8), ("dev", 0.1), ("test", 0.1))
#: v1 articles left out of corpus v2: the most template-like v1 stories (meeting headline and lead, all
#: four labels, analyst quote, next-meeting closer, formulaic openings), chosen by
#: ``python training/realism.py --suggest-retire N`` so that v2 meets the real-news shape targets.
RETIRED_FILE = HERE / "data" / "retired_v1.txt"
#: article id -> split of every built article (tab-separated), read back so that splits never move.
SPLITS_FILE = HERE / "data" / "splits.tsv"


def read_splits(path: Path = SPLITS_FILE) -> dict[str, str]:
    """The recorded split of each article id ({} when the file does not exist)."""
    if not path.exists():
        return {}
    rows = (line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {article_id: split for article_id, split in rows}


def write_splits(articles: list[dict[str, Any]], path: Path = SPLITS_FILE) -> None:
    """Record each article's split, sorted by id."""
    lines = sorted(f"{a['id']}\t{a['split']}" for a in articles)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def retired_ids(path: Path = RETIRED_FILE) -> frozenset[str]:
    """Ids listed in ``retired_v1.txt`` (one per line, ``#`` comments allowed)."""
    if not path.exists():
        return frozenset()
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(line for line in lines if line)


def read_raw(raw_dir: Path = RAW_DIR) -> list[dict[str, Any]]:
    """All raw articles except the retired ones, sorted by id."""
    retired = retired_ids(raw_dir.parent / RETIRED_FILE.name)
    articles = []
    for file in sorted(raw_dir.glob("*.jsonl")):
        for line_no, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                article = json.loads(line)
                if article["id"] in retired:
                    continue
                article["_source"] = f"{file.name}:{line_no}"
                articles.append(article)
    return sorted(articles, key=lambda a: a["id"])


def assemble(raw: dict[str, Any]) -> dict[str, Any]:
    """Join one raw article's units into text and record every unit with its offsets."""
    text, sentences = "", []
    for p_index, paragraph in enumerate(raw["paragraphs"]):
        if p_index:
            text += "\n\n"
        for u_index, unit in enumerate(paragraph):
            if u_index:
                text += " "
            start = len(text)
            text += unit["t"]
            boiler = unit["l"] == "boilerplate"
            sentences.append(
                {
                    "idx": len(sentences),
                    "start": start,
                    "end": len(text),
                    "text": unit["t"],
                    "label": None if boiler else unit["l"],
                    "hard": bool(unit.get("h")) and not boiler,
                    "hard_type": (unit.get("h") or None) if not boiler else None,
                    "boilerplate": boiler,
                    "paragraph": p_index,
                }
            )
    keep = ("id", "lang", "source_style", "topic", "countries", "officials")
    article = {k: raw.get(k) for k in keep}
    article.update(title=raw["paragraphs"][0][0]["t"], text=text, sentences=sentences)
    return article


def duplicate_pairs(articles: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Pairs of articles that share an exact or near-duplicate sentence (token Jaccard >= 0.8)."""
    from corpus_tools import find_cross_split_duplicates

    by_article = [{**a, "split": a["id"]} for a in articles]  # every article its own "split"
    found = find_cross_split_duplicates(by_article)
    return sorted({(d["a"].split("#")[0], d["b"].split("#")[0]) for d in found})


def official_groups(
    articles: list[dict[str, Any]], together: list[tuple[str, str]] | None = None
) -> list[list[dict[str, Any]]]:
    """Articles joined by a shared invented official or a ``together`` pair (transitively)."""
    parent = list(range(len(articles)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_seen: dict[str, int] = {}
    for i, article in enumerate(articles):
        keys = [" ".join(name.split()).lower() for name in article.get("officials") or []]
        keys += [f"pair:{a}|{b}" for a, b in together or () if article["id"] in (a, b)]
        for key in keys:
            parent[root(i)] = root(first_seen.setdefault(key, i))
    groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for i, article in enumerate(articles):
        groups[root(i)].append(article)
    return sorted(groups.values(), key=lambda g: min(a["id"] for a in g))


def assign_splits(
    articles: list[dict[str, Any]],
    seed: int = SPLIT_SEED,
    together: list[tuple[str, str]] | None = None,
    pinned: dict[str, str] | None = None,
) -> None:
    """~80/10/10 split by article, stratified by language, reproducible from the seed.

    Articles that share an invented official, or an (near-)identical sentence (``together``), form one
    group and go to the same split, so no invented person and no sentence recurs across splits.
    A group holding ``pinned`` articles (id -> split) takes their split; the other groups are shuffled
    per language (the language of a group's first article) and split; groups larger than a dev share
    go to train.
    """
    by_lang: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for group in official_groups(articles, together):
        splits = {pinned[a["id"]] for a in group if pinned and a["id"] in pinned}
        if len(splits) > 1:
            ids = sorted(a["id"] for a in group)
            raise SystemExit(f"articles {ids} must share a split but are recorded in {sorted(splits)}")
        if splits:
            split = splits.pop()
            for article in group:
                article["split"] = split
            continue
        by_lang[min(group, key=lambda a: a["id"])["lang"]].append(group)
    for lang in sorted(by_lang):
        groups = by_lang[lang]
        random.Random(f"{seed}-{lang}").shuffle(groups)
        total = sum(len(g) for g in groups)
        n_train = round(total * SPLIT_SHARES[0][1])
        n_dev = round(total * SPLIT_SHARES[1][1])
        big = [g for g in groups if len(g) > max(n_dev, 1) // 2]
        filled = 0
        for group in big + [g for g in groups if g not in big]:
            split = (
                "train" if filled < n_train or group in big else "dev" if filled < n_train + n_dev else "test"
            )
            for article in group:
                article["split"] = split
            filled += len(group)


def build_articles(raw_dir: Path = RAW_DIR) -> list[dict[str, Any]]:
    """Assemble and split, without writing anything."""
    articles = [assemble(raw) for raw in read_raw(raw_dir)]
    assign_splits(articles, together=duplicate_pairs(articles), pinned=read_splits())
    return articles


def build(
    raw_dir: Path = RAW_DIR, out: Path = CORPUS, package_copy: Path | None = PACKAGE_COPY
) -> list[dict[str, Any]]:
    """Build and write the corpus (and its gzip copy unless ``package_copy`` is None); return the articles."""
    articles = build_articles(raw_dir)
    text = "".join(json.dumps(article, ensure_ascii=False) + "\n" for article in articles)
    out.write_text(text, encoding="utf-8")
    if out == CORPUS:
        write_splits(articles)
    if package_copy is not None:
        write_gzip(text, package_copy)
    return articles


def write_gzip(text: str, path: Path) -> Path:
    """Write ``text`` gzip-compressed with a fixed timestamp, so the same corpus gives the same bytes."""
    import gzip
    import io

    buffer = io.BytesIO()
    with gzip.GzipFile(
        filename="corpus.jsonl", mode="wb", fileobj=buffer, compresslevel=9, mtime=0
    ) as handle:
        handle.write(text.encode("utf-8"))
    path.write_bytes(buffer.getvalue())
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--raw", type=Path, default=RAW_DIR)
    parser.add_argument("--out", type=Path, default=CORPUS)
    parser.add_argument("--package-copy", type=Path, default=PACKAGE_COPY, help="gzip copy for the wheel")
    parser.add_argument("--no-package-copy", action="store_true", help="write only --out")
    args = parser.parse_args()
    copy = None if args.no_package_copy else args.package_copy
    articles = build(args.raw, args.out, copy)
    n_sent = sum(1 for a in articles for s in a["sentences"] if not s["boilerplate"])
    print(
        f"wrote {len(articles)} articles, {n_sent} labeled sentences to {args.out}"
        + (f" and {copy}" if copy else "")
    )


if __name__ == "__main__":
    main()
