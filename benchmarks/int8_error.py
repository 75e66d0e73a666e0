"""How far dynamic int8 moves the logits, and what the fp32 recheck of near-ties costs and buys.

For ONNX Runtime int8 and torch int8, on each evaluation set (the corpus test split, seeds-dev
when ``../shared`` is there, the benchmark's 2,000 held-out corpus sentences and 512 sentences of
the train split the model learnt from), this compares
the int8 logits with torch fp32 logits: the largest logit change, the int8 top-two margin of every
row whose label int8 flips and, for a range of ``recheck_margin`` values, the share of rows
recomputed and the flips left. ``DEFAULT_RECHECK_MARGIN`` is meant to sit above every ONNX flip
margin measured here.

Example:
    python benchmarks/int8_error.py --out benchmarks/results/int8_error.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import throughput  # noqa: E402  (the same model preparation and sentences)

MARGINS = (0.5, 1.0, 2.0, 3.0, 4.0)


def compare(fp32: np.ndarray, int8: np.ndarray) -> dict[str, Any]:
    """Logit error and, per recheck margin, the rows recomputed and the label flips left."""
    from kontak_nlp.inference.recheck import top2_margin

    flips = fp32.argmax(axis=1) != int8.argmax(axis=1)
    margin = top2_margin(int8)
    error = np.abs(int8 - fp32).max(axis=1)
    return {
        "rows": len(fp32),
        "max_abs_logit_change": round(float(error.max()), 3),
        "p99_abs_logit_change": round(float(np.percentile(error, 99)), 3),
        "flips_without_recheck": int(flips.sum()),
        "int8_margins_of_flips": sorted(round(float(m), 2) for m in margin[flips]),
        "by_recheck_margin": {
            str(m): {"rechecked_share": round(float((margin < m).mean()), 4),
                     "flips_left": int((flips & (margin >= m)).sum())}
            for m in MARGINS
        },
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped default model)")
    parser.add_argument("--n", type=int, default=2000, help="benchmark sentences (default: 2000)")
    parser.add_argument("--eval-file", help="labelled JSONL (default: seeds-dev when present)")
    parser.add_argument("--out", default="benchmarks/results/int8_error.json")
    args = parser.parse_args(argv)
    from kontak_nlp.data import load_corpus
    from kontak_nlp.inference import RuntimeOptions, load_model

    bench_args = argparse.Namespace(model=args.model, base_only=False, n=args.n, eval_file=args.eval_file)
    with tempfile.TemporaryDirectory(prefix="kontak-int8-") as tmp:
        model_dir, description = throughput.prepare_model(bench_args, Path(tmp))
        texts, eval_texts, _, test = throughput.prepare_texts(bench_args)
        fp32 = load_model(model_dir, RuntimeOptions(device="cpu"))
        from kontak_nlp.inference.onnx.smooth import calibration_texts  # 512 corpus train sentences

        sets = {"corpus_test": list(test["text"]), "benchmark_sentences": texts}
        sets["train_sample"] = calibration_texts()
        if eval_texts and eval_texts != list(load_corpus()["dev"]["text"]):
            sets["seeds_dev"] = eval_texts
        reference = {name: fp32.predict_logits(rows) for name, rows in sets.items()}
        report: dict[str, Any] = {"model": description}
        int8 = load_model(
            model_dir, RuntimeOptions(device="cpu", backend="onnx", quantize="int8", recheck_margin=0)
        )
        report["onnx_int8"] = {
            name: compare(reference[name], int8.predict_logits(rows)) for name, rows in sets.items()
        }
    print(json.dumps(report, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
