"""Train a model from a checked-in config on the corpus train split, selecting on dev.

Usage:
    python training/train_default.py                                  # training/configs/news4.toml
    python training/train_default.py --config training/configs/news4.toml --set lr=5e-4

Only calls the library (`kontak_nlp.train`); it records the wall time and machine next to the model.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path

import torch

from kontak_nlp import TrainConfig, train
from kontak_nlp.data import load_corpus

HERE = Path(__file__).resolve().parent
#: The scripts here read the working copy of the corpus (the package reads its shipped gzip copy).
os.environ.setdefault("KONTAK_CORPUS", str(HERE / "data" / "corpus.jsonl"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=HERE / "configs" / "news4.toml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = TrainConfig.from_file(args.config, args.set)
    start = time.perf_counter()
    train(config, load_corpus("train"), load_corpus("dev"), resume=args.resume)
    seconds = time.perf_counter() - start
    record = {
        "config": str(args.config),
        "train_seconds": round(seconds, 1),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
    }
    out = Path(config.output_dir)
    (out / "train_time.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    logging.info("trained in %.1f min; model in %s", seconds / 60, out)


if __name__ == "__main__":
    main()
