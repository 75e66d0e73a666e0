"""Write ``kontak_nlp/resources/calibration.txt``: 512 corpus training sentences for int8 calibration.

The int8 ONNX export (``kontak_nlp/inference/onnx/_export.py``) runs these through the fp32 model once to
measure activation ranges for SmoothQuant-style smoothing. They come from the project's own corpus
(train split only), seeded, so the file is reproducible.

Example:
    python training/make_calibration_set.py
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "kontak_nlp" / "resources" / "calibration.txt"
CORPUS = Path(__file__).resolve().parent / "data" / "corpus.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    os.environ.setdefault("KONTAK_CORPUS", str(CORPUS))  # the working copy, not the packaged gzip
    from kontak_nlp.data import load_corpus

    texts = sorted(set(load_corpus()["train"]["text"]))
    chosen = random.Random(0).sample(texts, min(args.n, len(texts)))
    args.out.write_text("\n".join(t.replace("\n", " ") for t in chosen) + "\n", encoding="utf-8")
    print(f"wrote {len(chosen)} sentences to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
