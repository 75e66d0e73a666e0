"""Fold real-news label shares into a trained model's head: a prior-shift correction.

The default model is trained with balanced class weights, so its calibrated probabilities behave as
if every label were equally common. Real diplomatic news is not: ``../shared/REALNEWS-FACTS.md``
gives the Indonesian label shares below. Adding ``T * log(share)`` to the head's bias (``T`` the
stored calibration temperature) makes the calibrated probabilities ``softmax(z / T) * share``,
renormalised: the Bayes correction for the new prior. Nothing is fitted on real-dev. The shares are
recorded as ``label_prior`` in ``config.json``; applying twice is refused.

Usage:
    python training/apply_label_prior.py --model runs/news4      # before evaluate_default.py --install
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from safetensors.torch import load_file, save_file

from kontak_nlp.checksums import CHECKSUM_FILE, write_checksums

#: Indonesian label shares of real diplomatic news (REALNEWS-FACTS.md, "Label shares").
REAL_SHARES = {"meeting_report": 0.25, "position_statement": 0.40, "demand": 0.08, "background": 0.27}
#: (weights file, head-bias key) of a merged directory and of an adapter directory.
HEADS = (
    ("model.safetensors", "classifier.bias"),
    ("adapter_model.safetensors", "base_model.model.classifier.bias"),
)


def apply_prior(directory: Path, shares: dict[str, float] = REAL_SHARES) -> bool:
    """Add the prior to the head bias of the model in ``directory``; False if it holds no model."""
    config_file = directory / "config.json"
    heads = [(directory / name, key) for name, key in HEADS if (directory / name).exists()]
    if not config_file.exists() or not heads:
        return False
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("label_prior"):
        raise SystemExit(f"{config_file}: a label prior is already applied")
    temperature = float(config.get("calibration_temperature") or 1.0)
    labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    shift = [temperature * math.log(shares[label]) for label in labels]
    for file, key in heads:
        weights = load_file(str(file))
        bias = weights[key]
        weights[key] = bias + bias.new_tensor(shift)
        save_file(weights, str(file), metadata={"format": "pt"})
    config["label_prior"] = {label: shares[label] for label in labels}
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if (directory / CHECKSUM_FILE).exists():
        write_checksums(directory)
    print(f"{directory}: label prior applied (T = {temperature:.3f}) to {[f.name for f, _ in heads]}")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    args = parser.parse_args()
    done = [apply_prior(d) for d in (args.model, args.model / "adapter")]
    if not any(done):
        raise SystemExit(f"{args.model}: no model found")


if __name__ == "__main__":
    main()
