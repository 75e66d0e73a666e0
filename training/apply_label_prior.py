"""Fold real-news label shares into a trained model's head: a prior-shift correction.

The default model is trained with balanced class weights, so its calibrated probabilities behave as
if every label were equally common. Real diplomatic news is not: ``../shared/REALNEWS-FACTS.md``
gives the Indonesian label shares below. Adding ``T * log(share)`` to the head's bias (``T`` the
stored calibration temperature) makes the calibrated probabilities ``softmax(z / T) * share``,
renormalised: the Bayes correction for the new prior. Nothing is fitted on real-dev. The shares are
recorded as ``label_prior`` in ``config.json``; applying twice is refused.

A model trained without class weights (``class_weighting = "none"``) learned its training split's
label shares instead of equal ones: ``--trained-corpus FILE`` divides them out, so the shift is
``T * log(share / train_share)``, with ``train_share`` counted on FILE's train split.

Usage:
    python training/apply_label_prior.py --model runs/news4      # before evaluate_default.py --install
    python training/apply_label_prior.py --model runs/unweighted --trained-corpus corpus.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

from corpus_tools import labeled, load_jsonl  # same folder
from safetensors.torch import load_file, save_file

from kontak_nlp.checksums import CHECKSUM_FILE, write_checksums

#: Indonesian label shares of real diplomatic news (REALNEWS-FACTS.md, "Label shares").
REAL_SHARES = {"meeting_report": 0.25, "position_statement": 0.40, "demand": 0.08, "background": 0.27}
#: (weights file, head-bias key) of a merged directory and of an adapter directory.
HEADS = (
    ("model.safetensors", "classifier.bias"),
    ("adapter_model.safetensors", "base_model.model.classifier.bias"),
)


def train_shares(corpus: Path) -> dict[str, float]:
    """The label shares of the train split of a corpus file (the prior an unweighted model learned)."""
    train = [article for article in load_jsonl(corpus) if article.get("split") == "train"]
    counts = Counter(sent["label"] for article in train for sent in labeled(article))
    if not counts:
        raise SystemExit(f"{corpus}: no train-split sentences")
    total = sum(counts.values())
    return {label: count / total for label, count in counts.items()}


def apply_prior(
    directory: Path, shares: dict[str, float] = REAL_SHARES, trained: dict[str, float] | None = None
) -> bool:
    """Add the prior to the head bias of the model in ``directory``; False if it holds no model.

    ``trained``: the label shares the model learned (None: equal shares, as balanced class weights give).
    """
    config_file = directory / "config.json"
    heads = [(directory / name, key) for name, key in HEADS if (directory / name).exists()]
    if not config_file.exists() or not heads:
        return False
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("label_prior"):
        raise SystemExit(f"{config_file}: a label prior is already applied")
    temperature = float(config.get("calibration_temperature") or 1.0)
    labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    learned = trained or dict.fromkeys(labels, 1.0)  # balanced class weights: equal shares
    missing = [label for label in labels if not learned.get(label)]
    if missing:  # checked before anything is written
        raise SystemExit(f"{directory}: no training share for label(s) {missing}")
    shift = [temperature * math.log(shares[label] / learned[label]) for label in labels]
    for file, key in heads:
        weights = load_file(str(file))
        bias = weights[key]
        weights[key] = bias + bias.new_tensor(shift)
        save_file(weights, str(file), metadata={"format": "pt"})
    config["label_prior"] = {label: shares[label] for label in labels}
    if trained:
        config["label_prior_trained_shares"] = {label: round(trained[label], 4) for label in labels}
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if (directory / CHECKSUM_FILE).exists():
        write_checksums(directory)
    print(f"{directory}: label prior applied (T = {temperature:.3f}) to {[f.name for f, _ in heads]}")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--trained-corpus", type=Path, help="corpus of a model trained without class weights")
    args = parser.parse_args()
    trained = train_shares(args.trained_corpus) if args.trained_corpus else None
    done = [apply_prior(d, trained=trained) for d in (args.model, args.model / "adapter")]
    if not any(done):
        raise SystemExit(f"{args.model}: no model found")


if __name__ == "__main__":
    main()
