"""Two cheap checks on real-dev that need no training: label-prior correction and model ensembles.

* ``--prior``: multiply each model's calibrated probabilities by the real-news label shares of
  ``../shared/REALNEWS-FACTS.md`` (Indonesian row; the balanced class weights train towards a uniform
  prior) and renormalise.
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


def real_dev() -> list[dict]:
    """The labeled real-dev rows (``$KONTAK_SHARED_DIR`` or ``../shared``)."""
    shared = Path(os.environ.get("KONTAK_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
    path = shared / "data" / "realdev" / "realdev.jsonl"
    return [r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if r.get("label")]


def macro_f1(gold: list[str], proba: np.ndarray, labels: list[str]) -> float:
    """Macro-F1 of the argmax labels."""
    return float(f1_score(gold, [labels[i] for i in proba.argmax(1)], average="macro"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--prior", action="store_true")
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
    if args.ensemble and len(probas) > 1:
        print(f"ensemble (mean probability): {macro_f1(gold, sum(probas) / len(probas), labels):.3f}")


if __name__ == "__main__":
    main()
