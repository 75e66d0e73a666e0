"""Cheap checks on real-dev that need no training: label-prior corrections and model ensembles.

* ``--prior``: multiply each model's calibrated probabilities by the real-news label shares of
  ``../shared/REALNEWS-FACTS.md`` (Indonesian row; the balanced class weights train towards a uniform
  prior) and renormalise.
* ``--lang-prior``: use each row's own language's shares (REALNEWS-FACTS gives Indonesian and
  English; Malay takes the Indonesian ones), replacing the prior a model already carries.
* ``--ensemble``: average the probabilities of several models.

Real-dev is used to measure only, never to fit anything.

Usage:
    python training/side_checks.py --models kontak_nlp/models/news4 runs/other --prior --ensemble
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
from apply_label_prior import REAL_SHARES  # same folder: the shares the shipped model uses
from sklearn.metrics import f1_score

from kontak_nlp import Classifier

#: English label shares of real diplomatic news (REALNEWS-FACTS.md, "Label shares").
ENGLISH_SHARES = {"meeting_report": 0.24, "position_statement": 0.63, "demand": 0.07, "background": 0.05}


def real_dev() -> list[dict]:
    """The labeled real-dev rows (``$KONTAK_SHARED_DIR`` or ``../shared``)."""
    shared = Path(os.environ.get("KONTAK_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
    path = shared / "data" / "realdev" / "realdev.jsonl"
    return [r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if r.get("label")]


def macro_f1(gold: list[str], proba: np.ndarray, labels: list[str]) -> float:
    """Macro-F1 of the argmax labels."""
    return float(f1_score(gold, [labels[i] for i in proba.argmax(1)], average="macro"))


def language_prior(
    proba: np.ndarray, rows: list[dict], labels: list[str], carried: dict[str, float] | None
) -> np.ndarray:
    """Probabilities re-weighted to each row's language's label shares, the carried prior removed."""
    base = np.array([(carried or {}).get(label, 1.0) for label in labels])
    shares = {"en": ENGLISH_SHARES}
    target = np.array([[shares.get(r["lang"], REAL_SHARES)[label] for label in labels] for r in rows])
    adjusted = proba * target / base
    return adjusted / adjusted.sum(1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--prior", action="store_true")
    parser.add_argument("--lang-prior", action="store_true")
    parser.add_argument("--ensemble", action="store_true")
    args = parser.parse_args()
    rows = real_dev()
    texts, gold = [r["text"] for r in rows], [r["label"] for r in rows]
    probas, labels = [], []
    for path in args.models:
        clf = Classifier.from_pretrained(path, device="cpu")
        labels = list(clf.labels)
        probas.append(np.asarray(clf.predict_proba(texts, show_progress_bar=False)))
        print(f"{path}: real-dev macro-F1 {macro_f1(gold, probas[-1], labels):.3f}")
        if args.prior:
            adjusted = probas[-1] * np.array([REAL_SHARES[label] for label in labels])
            adjusted /= adjusted.sum(1, keepdims=True)
            print(f"{path} with the real-news prior: {macro_f1(gold, adjusted, labels):.3f}")
        if args.lang_prior:
            adjusted = language_prior(probas[-1], rows, labels, clf.config.to_dict().get("label_prior"))
            by_lang = {
                lang: macro_f1([g for g, r in zip(gold, rows) if r["lang"] == lang], adjusted[mask], labels)
                for lang in ("id", "en")
                if (mask := np.array([r["lang"] == lang for r in rows])).any()
            }
            print(f"{path} with per-language priors: {macro_f1(gold, adjusted, labels):.3f} {by_lang}")
    if args.ensemble and len(probas) > 1:
        print(f"ensemble (mean probability): {macro_f1(gold, sum(probas) / len(probas), labels):.3f}")


if __name__ == "__main__":
    main()
