"""Compare trained runs side by side: corpus test, seeds-dev and real-dev macro-F1 (with CIs), ECE, time.

Each run directory holds ``eval_results.json`` (from ``training/evaluate_default.py``) and
``train_time.json`` (from ``training/train_default.py``).

Usage:
    python training/compare_runs.py runs/lora_noctx runs/lora_ctx_e1
    python training/compare_runs.py runs/* --markdown > table.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SETS = (("corpus_test", "corpus test"), ("seeds_dev", "seeds-dev"), ("realdev", "real-dev"))


def _cell(result: dict[str, Any] | None) -> str:
    if not result:
        return "-"
    f1 = result["macro_f1"]
    return f"{f1['value']:.3f} ({f1['ci_low']:.3f}-{f1['ci_high']:.3f})"


def _lang(result: dict[str, Any] | None) -> str:
    if not result or not result.get("macro_f1_by_lang"):
        return "-"
    return ", ".join(f"{k} {v:.3f}" for k, v in sorted(result["macro_f1_by_lang"].items()))


def row(run: Path) -> list[str]:
    """One table row for a run directory."""
    results = json.loads((run / "eval_results.json").read_text(encoding="utf-8"))
    timing = run / "train_time.json"
    minutes = (
        json.loads(timing.read_text(encoding="utf-8"))["train_seconds"] / 60 if timing.exists() else None
    )
    real = results.get("realdev")
    ece = f"{real['ece']:.3f}" if real and real.get("ece") is not None else "-"
    return [
        run.name,
        *(_cell(results.get(key)) for key, _ in SETS),
        _lang(real),
        ece,
        f"{minutes:.0f}" if minutes is not None else "-",
    ]


def table(runs: list[Path]) -> str:
    """A markdown table with one row per run."""
    header = ["run", *(f"{name} macro-F1 (95% CI)" for _, name in SETS), "real-dev by language"]
    header += ["real-dev ECE", "train min"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row(run)) + " |" for run in runs if (run / "eval_results.json").exists()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    print(table(args.runs))


if __name__ == "__main__":
    main()
