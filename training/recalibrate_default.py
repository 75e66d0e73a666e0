"""Refit a trained model's temperature on corpus articles written after the corpus it trained on.

The dev split a model is calibrated on during training comes from its own training corpus, which is
easier than real news, so the fitted temperature sharpens the scores (T < 1) and the model is
over-confident on real articles. Articles added to the corpus later (v5 was written against the
kinds of sentences the model gets wrong on real news) are corpus data the model never saw: this
script refits the temperature on them with :func:`kontak_nlp.training.recalibrate.recalibrate`.
Test-split articles are left out, so the corpus test figures stay clean; nothing real is used.

Usage (the shipped model, trained on corpus v4, after ``apply_label_prior.py``):
    git show 86fb68b:training/data/corpus.jsonl > /tmp/corpus_v4.jsonl
    python training/recalibrate_default.py --model runs/news4 --trained-corpus /tmp/corpus_v4.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus_tools as ct  # noqa: E402

CORPUS = HERE / "data" / "corpus.jsonl"


def held_out_rows(corpus: Path, trained_corpus: Path) -> tuple[list[dict[str, str]], list[str]]:
    """Labeled sentences of the articles in ``corpus`` that are not in ``trained_corpus`` nor in test."""
    seen = {article["id"] for article in ct.load_jsonl(trained_corpus)}
    articles = [a for a in ct.load_jsonl(corpus) if a["id"] not in seen and a["split"] != "test"]
    rows = [{"text": s["text"], "label": s["label"]} for article in articles for s in ct.labeled(article)]
    return rows, [a["id"] for a in articles]


def main(argv: list[str] | None = None) -> int:
    from kontak_nlp.training.recalibrate import recalibrate

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="trained model directory (updated)")
    parser.add_argument("--trained-corpus", type=Path, required=True, help="the corpus the model trained on")
    parser.add_argument(
        "--corpus", type=Path, default=CORPUS, help="today's corpus (default: the working copy)"
    )
    args = parser.parse_args(argv)
    rows, ids = held_out_rows(args.corpus, args.trained_corpus)
    if not rows:
        raise SystemExit(f"{args.corpus}: no article outside {args.trained_corpus} and the test split")
    source = f"{len(ids)} corpus articles the model did not train on ({ids[0]} ... {ids[-1]})"
    result = recalibrate(args.model, rows, source=source)
    print(f"{args.model}: T {result.old_temperature:.3f} -> {result.temperature:.3f} on {result.source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
