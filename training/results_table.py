"""Print the README's results table from a model's ``eval_results.json`` and ``train_time.json``.

Usage:
    python training/results_table.py kontak_nlp/models/news4
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NAMES = {
    "corpus_test": "corpus test split",
    "corpus_dev": "corpus dev split",
    "seeds_dev": "seeds-dev (real news)",
    "realdev": "real-dev (real news, 42 articles)",
}


def fmt(entry: dict) -> str:
    return f"{entry['value']:.3f} ({entry['ci_low']:.3f}-{entry['ci_high']:.3f})"


def table(model_dir: Path) -> str:
    results = json.loads((model_dir / "eval_results.json").read_text(encoding="utf-8"))
    rows = [
        "| data | sentences | accuracy (95% CI) | macro-F1 (95% CI) | TF-IDF+LR macro-F1 "
        "| majority macro-F1 | ECE raw -> calibrated |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        rows.append(
            f"| {NAMES.get(key, key)} | {r['n']} | {fmt(r['accuracy'])} | {fmt(r['macro_f1'])} | "
            f"{r['baseline_tfidf']['macro_f1']:.3f} | {r['baseline_majority']['macro_f1']:.3f} | "
            f"{r['ece_uncalibrated']:.3f} -> {r['ece']:.3f} |"
        )
    timing = model_dir / "train_time.json"
    if timing.exists():
        t = json.loads(timing.read_text(encoding="utf-8"))
        rows.append(
            f"\nTraining took {t['train_seconds'] / 60:.1f} min on {t['cpu_count']} CPU cores "
            f"({t['torch_threads']} torch threads, CUDA: {t['cuda']}, torch {t['torch']})."
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(table(Path(sys.argv[1] if len(sys.argv) > 1 else "kontak_nlp/models/news4")))
