"""Evaluate a trained model on the corpus splits and seeds-dev, beside the baselines; write its card.

Usage:
    python training/evaluate_default.py --model runs/news4            # reports in runs/news4/eval/
    python training/evaluate_default.py --model runs/news4 --install  # also ship it as the default model

Every figure in the model card and in README's results table comes from the ``eval_results.json``
this script writes. seeds-dev and real-dev (``../shared/data/``, real news, never trained on) are
used when present.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from kontak_nlp import Classifier, TrainConfig
from kontak_nlp.checksums import write_checksums
from kontak_nlp.evaluation import evaluate, write_report
from kontak_nlp.inference.loader import DEFAULT_MODEL_DIR
from kontak_nlp.training.model_card import RESULTS_FILE, write_model_card

HERE = Path(__file__).resolve().parent
#: The scripts here read the working copy of the corpus (the package reads its shipped gzip copy).
os.environ.setdefault("KONTAK_CORPUS", str(HERE / "data" / "corpus.jsonl"))
logger = logging.getLogger("evaluate_default")


def shared_path(relative: str) -> Path | None:
    """``$KONTAK_SHARED_DIR/<relative>`` or ``<repo>/../shared/<relative>``, if it exists."""
    root = Path(os.environ.get("KONTAK_SHARED_DIR", HERE.parent.parent / "shared"))
    path = root / relative
    return path if path.exists() else None


def seeds_dev_path() -> Path | None:
    """seeds-dev (five real articles, 88 sentences), if ``../shared`` is present."""
    return shared_path("data/seeds-dev.jsonl")


def realdev_path() -> Path | None:
    """real-dev (42 real articles, 686 sentences), if ``../shared`` is present."""
    return shared_path("data/realdev/realdev.jsonl")


def _ci(report: Any, name: str) -> dict[str, float]:
    low, high = report.ci.get(name, [None, None])
    return {"value": report.metrics[name], "ci_low": low, "ci_high": high}


def summarize(report: Any) -> dict[str, Any]:
    """The figures the model card and README quote, from one EvalReport."""
    calibration = report.calibration or {}
    summary = {
        "n": report.n_examples,
        "accuracy": _ci(report, "accuracy"),
        "macro_f1": _ci(report, "macro_f1"),
        "weighted_f1": _ci(report, "weighted_f1"),
        "ece": calibration.get("ece_after"),
        "ece_uncalibrated": calibration.get("ece_before"),
        "temperature": calibration.get("temperature"),
        "per_class_f1": {label: round(v["f1"], 4) for label, v in report.per_class.items()},
        "macro_f1_by_lang": {
            lang: round(v["macro_f1"], 4) for lang, v in (report.slices or {}).get("lang", {}).items()
        },
    }
    for name, baseline in (report.baselines or {}).items():
        summary[f"baseline_{name}"] = {
            "macro_f1": baseline["metrics"]["macro_f1"],
            "accuracy": baseline["metrics"]["accuracy"],
            "paired_delta_macro_f1": baseline.get("paired", {}).get("delta"),
            "paired_p_value": baseline.get("paired", {}).get("p_value"),
        }
    return summary


def run(model_dir: Path, n_bootstrap: int) -> dict[str, Any]:
    """Evaluate on test, dev and seeds-dev; write one report directory per data set."""
    clf = Classifier.from_pretrained(model_dir, device="cpu")
    datasets: dict[str, Any] = {"corpus_test": "test", "corpus_dev": "dev"}
    for name, path in (("seeds_dev", seeds_dev_path()), ("realdev", realdev_path())):
        if path is not None:
            datasets[name] = str(path)
        else:
            logger.warning("%s not found; skipping that real-news evaluation", name)
    results = {}
    for name, data in datasets.items():
        report = evaluate(
            clf, data, baselines=["majority", "tfidf"], train_data="train", n_bootstrap=n_bootstrap, seed=0
        )
        write_report(report, model_dir / "eval" / name)
        results[name] = summarize(report)
        logger.info(
            "%s: macro-F1 %.3f accuracy %.3f", name, report.metrics["macro_f1"], report.metrics["accuracy"]
        )
    return results


def refresh_cards(model_dir: Path, results: dict[str, Any]) -> None:
    """Write eval_results.json and the model card into the model dir and its adapter dir."""
    config = TrainConfig.from_file(model_dir / "training_args.json")
    config_json = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    labels = [name for _, name in sorted(config_json["id2label"].items(), key=lambda kv: int(kv[0]))]
    history = json.loads((model_dir / "train_history.json").read_text(encoding="utf-8"))
    for directory in (model_dir, model_dir / "adapter"):
        if directory.is_dir():
            payload = json.dumps(results, indent=2) + "\n"
            (directory / RESULTS_FILE).write_text(payload, encoding="utf-8")
            write_model_card(directory, config, labels, history=history, results=results)
            write_checksums(directory)


def install(model_dir: Path) -> Path:
    """Copy the small adapter directory into the package as the shipped default model."""
    source = model_dir / "adapter"
    if not source.is_dir():
        raise SystemExit(f"{source}: no adapter directory (train with save_format='both')")
    if DEFAULT_MODEL_DIR.exists():
        shutil.rmtree(DEFAULT_MODEL_DIR)
    shutil.copytree(source, DEFAULT_MODEL_DIR)
    if (model_dir / "train_time.json").exists():
        shutil.copy2(model_dir / "train_time.json", DEFAULT_MODEL_DIR / "train_time.json")
    write_checksums(DEFAULT_MODEL_DIR)
    size = sum(f.stat().st_size for f in DEFAULT_MODEL_DIR.rglob("*") if f.is_file())
    logger.info("installed the default model in %s (%.1f MB)", DEFAULT_MODEL_DIR, size / 1e6)
    return DEFAULT_MODEL_DIR


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path("runs/news4"))
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument(
        "--install", action="store_true", help="copy the adapter into kontak_nlp/models/news4"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    results = run(args.model, args.bootstrap)
    refresh_cards(args.model, results)
    if args.install:
        install(args.model)
    print(
        json.dumps(
            {k: {"macro_f1": v["macro_f1"], "accuracy": v["accuracy"]} for k, v in results.items()}, indent=1
        )
    )


if __name__ == "__main__":
    main()
