"""Throughput of kontak_nlp's inference paths against the transformers pipeline, in one run.

Every mode runs in its own process (so peak RSS is per mode) on the same model and the same
held-out sentences from the project corpus (dev and test splits, repeated up to ``--n``): the
``transformers`` text-classification pipeline at batch 32 (baseline), kontak torch fp32 with the
plain transformers forward (``torch_fp32_plain``: length-sorted dynamic padding only) and with the
fast CPU forward (``torch_fp32``, the default; see ``kontak_nlp/inference/fast_bert.py``), bf16 (when the
CPU has native bf16), torch dynamic int8, ONNX Runtime fp32, ONNX Runtime dynamic int8 as shipped
(``onnx_int8``: near-ties recomputed in fp32, see ``docs/int8.md``) and without that recheck
(``onnx_int8_raw``). All modes are loaded first, then timed in ``--repeats`` interleaved rounds,
so a slow phase of a shared machine hits every mode.

Reported per mode: sentences/s (median of the rounds), ratio to the pipeline, peak RSS, label
agreement with torch fp32, macro-F1 on seeds-dev (or the corpus dev split) and on the corpus test
split, and for int8 modes the share of rows recomputed in fp32.

Example:
    python benchmarks/throughput.py --repeats 5 --out benchmarks/results/throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MODES = (
    "pipeline", "torch_fp32_plain", "torch_fp32", "torch_bf16", "onnx_fp32", "onnx_int8", "onnx_int8_raw",
)  # fmt: skip
_LOAD = {  # mode -> RuntimeOptions fields (torch int8 was dropped: slower and less accurate than ONNX int8)
    "torch_fp32_plain": {"backend": "torch", "precision": "fp32"},
    "torch_fp32": {"backend": "torch", "precision": "fp32"},
    "torch_bf16": {"backend": "torch", "precision": "bf16"},
    "onnx_fp32": {"backend": "onnx", "precision": "fp32"},
    "onnx_int8": {"backend": "onnx", "precision": "fp32", "quantize": "int8"},  # near-ties rechecked
    "onnx_int8_raw": {"backend": "onnx", "precision": "fp32", "quantize": "int8", "recheck_margin": 0.0},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped default model)")
    parser.add_argument("--base-only", action="store_true", help="embedded e5-small + a random 4-label head")
    parser.add_argument("--n", type=int, default=2000, help="sentences (default: 2000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per mode (median reported)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    parser.add_argument(
        "--device", default="cpu", help="cpu (default) or cuda[:N]; on CUDA int8 and ONNX modes are skipped"
    )
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated subset of {MODES}")
    parser.add_argument(
        "--eval-file", help="labelled JSONL for macro-F1 (default: seeds-dev, else corpus dev)"
    )
    parser.add_argument("--out", default="benchmarks/results/throughput.json", help="JSON results file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------- preparation (parent)
def prepare_model(args: argparse.Namespace, work: Path) -> tuple[Path, str]:
    """A plain HF model directory every mode (the pipeline too) can load, and its description."""
    from kontak_nlp import Classifier

    if args.base_only:
        return build_random_head(
            work / "e5-small-random-head"
        ), "embedded multilingual-e5-small + random head"
    if args.model:
        source = Path(args.model)
    else:
        from kontak_nlp.inference.loader import default_model_path

        source = default_model_path()
    if not (source / "adapter_config.json").exists():
        return source, str(source)
    merged = work / "merged-model"  # the pipeline cannot load kontak adapter directories
    Classifier.from_pretrained(source, device="cpu").save_pretrained(merged, merged=True)
    return merged, f"{source} (adapters merged)"


def build_random_head(directory: Path) -> Path:
    """The embedded backbone with a seeded random 4-label head, saved as a plain HF directory."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from kontak_nlp import DEFAULT_LABELS, Classifier
    from kontak_nlp.backbone import ensure_backbone

    backbone = ensure_backbone()
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        backbone, num_labels=len(DEFAULT_LABELS), id2label=dict(enumerate(DEFAULT_LABELS)),
        label2id={name: i for i, name in enumerate(DEFAULT_LABELS)},
    )  # fmt: skip
    Classifier(model, AutoTokenizer.from_pretrained(backbone), device="cpu").save_pretrained(directory)
    return directory


def prepare_texts(args: argparse.Namespace) -> tuple[list[str], list[str], list[str], Any]:
    """``n`` held-out corpus sentences (dev and test splits, shuffled with a fixed seed and repeated
    up to ``n``), labelled eval rows and the corpus test split.

    Held-out, because the default model was trained on the train split: its margins there are wide,
    which would flatter the int8 recheck (``docs/int8.md``)."""
    from kontak_nlp.data import load_corpus

    corpus = load_corpus()
    texts = [t for split in ("dev", "test") for t in corpus[split]["text"]]
    random.Random(0).shuffle(texts)
    texts = (texts * (args.n // len(texts) + 1))[: args.n]
    eval_texts, eval_labels = eval_rows(args, corpus)
    return texts, eval_texts, eval_labels, corpus["test"]


def eval_rows(args: argparse.Namespace, corpus: Any) -> tuple[list[str], list[str]]:
    candidates = [Path(args.eval_file)] if args.eval_file else []
    shared = os.environ.get("KONTAK_SHARED_DIR") or str(Path(__file__).resolve().parents[2] / "shared")
    candidates.append(Path(shared) / "data" / "seeds-dev.jsonl")
    for file in candidates:
        if file.is_file():
            rows = [
                json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
            rows = [r for r in rows if not r.get("boilerplate") and r.get("label")]
            return [r["text"] for r in rows], [r["label"] for r in rows]
    return list(corpus["dev"]["text"]), list(corpus["dev"]["label"])


# ----------------------------------------------------------------------------- one mode (worker)
def load_mode(
    mode: str, model_dir: str, batch_size: int, threads: int | None, device: str = "cpu"
) -> tuple[Any, Any, Any]:
    """Return ``(predict(texts) -> labels, tokenizer, kontak model or None)`` for one mode."""
    from kontak_nlp.inference import RuntimeOptions, load_model
    from kontak_nlp.inference.options import configure_threads

    configure_threads(threads)
    if mode == "pipeline":
        from transformers import pipeline

        pipe = pipeline("text-classification", model=model_dir, device=device)

        def predict(texts: list[str]) -> list[str]:
            return [out["label"] for out in pipe(texts, batch_size=batch_size, truncation=True)]

        return predict, pipe.tokenizer, None
    model = load_model(model_dir, RuntimeOptions(device=device, threads=threads, **_LOAD[mode]))
    if mode == "torch_fp32_plain":
        model.fast_path = False
    return (lambda texts: model.predict(texts, batch_size=batch_size)), model.tokenizer, model


def _rechecked_share(model: Any, predict: Any, texts: list[str]) -> tuple[list[str], float | None]:
    """``predict(texts)`` and the share of rows an int8 model recomputed in fp32 (None: no recheck)."""
    if not texts:
        return [], None
    if not getattr(model, "rechecks_near_ties", False):
        return predict(texts), None
    model.recheck_stats = None
    labels = predict(texts)
    return labels, model.recheck_stats.share if model.recheck_stats else 0.0


def serve_worker(mode: str, work: Path) -> None:
    """Load one mode, then answer the parent's commands on stdin with one JSON line each.

    ``time``: one timed pass over the texts. ``finish``: eval/test predictions and the summary.
    Keeping every mode loaded lets the parent interleave the timed passes of all modes, so a slow
    phase of a shared machine hits every mode alike.
    """
    job = json.loads((work / "job.json").read_text(encoding="utf-8"))
    texts, batch = job["texts"], job["batch_size"]
    started = time.perf_counter()
    predict, tokenizer, model = load_mode(mode, job["model_dir"], batch, job["threads"], job["device"])
    load_s = time.perf_counter() - started
    predict(texts[:batch])  # warm-up
    if getattr(model, "rechecks_near_ties", False):
        model.recheck_with.predict(texts[:batch])  # ... of the fp32 twin too
    _reply({"ready": True})
    runs, labels, shares = [], [], []
    for command in sys.stdin:
        if command.strip() == "time":
            started = time.perf_counter()
            labels, share = _rechecked_share(model, predict, texts)
            runs.append(len(texts) / (time.perf_counter() - started))
            shares.append(share)
            _reply({"run": runs[-1]})
        elif command.strip() == "finish":
            break
    eval_labels, eval_share = _rechecked_share(model, predict, job["eval_texts"])
    test_labels, test_share = _rechecked_share(model, predict, job["test_texts"])
    tokens = [len(ids) for ids in tokenizer(texts[:500], truncation=True)["input_ids"]]
    _reply({
        "mode": mode, "sentences_per_s": statistics.median(runs), "runs": runs, "load_s": load_s,
        "peak_rss_mb": peak_rss_mb(), "labels": labels,
        "eval_predictions": eval_labels, "test_predictions": test_labels,
        "mean_tokens": statistics.mean(tokens),
        "rechecked_share": {"timed": shares[-1] if shares else None, "eval": eval_share, "test": test_share},
    })  # fmt: skip


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB.

    ``VmHWM`` first: ``ru_maxrss`` survives ``exec`` on Linux, so a worker forked from a large
    parent would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


# ----------------------------------------------------------------------------- report (parent)
def macro_f1(gold: list[str], predicted: list[str]) -> float | None:
    if not gold or not predicted or not set(predicted) & set(gold):
        return None  # the model's labels are not the corpus labels
    from sklearn.metrics import f1_score

    return float(f1_score(gold, predicted, average="macro", labels=sorted(set(gold)), zero_division=0))


def summarise(
    results: list[dict[str, Any]], eval_gold: list[str], test_gold: list[str]
) -> list[dict[str, Any]]:
    base = next((r["sentences_per_s"] for r in results if r["mode"] == "pipeline"), None)
    base_runs = next((r["runs"] for r in results if r["mode"] == "pipeline"), [])
    ref = next((r for r in results if r["mode"] == "torch_fp32"), None)
    ref_f1 = macro_f1(eval_gold, ref["eval_predictions"]) if ref else None
    ref_test = macro_f1(test_gold, ref["test_predictions"]) if ref else None
    rows = []
    for r in results:
        f1 = macro_f1(eval_gold, r["eval_predictions"])
        test_f1 = macro_f1(test_gold, r["test_predictions"])
        agree = sum(a == b for a, b in zip(r["labels"], ref["labels"])) / len(r["labels"]) if ref else None
        rows.append({
            "mode": r["mode"], "sentences_per_s": round(r["sentences_per_s"], 1),
            "runs": [round(x, 1) for x in r["runs"]],
            "ratio_to_pipeline": round(r["sentences_per_s"] / base, 2) if base else None,
            "ratio_per_round": [round(x / b, 2) for x, b in zip(r["runs"], base_runs)],
            "peak_rss_mb": round(r["peak_rss_mb"]), "load_s": round(r["load_s"], 1),
            "agreement_with_torch_fp32": agree, "macro_f1": f1,
            "macro_f1_delta": None if f1 is None or ref_f1 is None else round(f1 - ref_f1, 4),
            "corpus_test_macro_f1": test_f1,
            "corpus_test_delta": None if None in (test_f1, ref_test) else round(test_f1 - ref_test, 4),
            "rechecked_share": r.get("rechecked_share", {}),
        })  # fmt: skip
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    def fmt(value: Any, pattern: str) -> str:
        return "n/a" if value is None else format(value, pattern)

    def f1(value: float | None, delta: float | None) -> str:
        return "n/a" if value is None or delta is None else f"{value:.3f} ({delta:+.3f})"

    def rechecked(shares: dict[str, float | None]) -> str:
        values = [shares.get(key) for key in ("timed", "eval")]
        return "-" if values[0] is None else " / ".join(fmt(v, ".1%") for v in values)

    header = "| mode | sentences/s (median) | x pipeline | peak RSS MB | agreement vs torch fp32 "
    header += "| eval macro-F1 (delta) | corpus test macro-F1 (delta) | rechecked in fp32 (timed / eval) |"
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['sentences_per_s']:.1f} | {fmt(r['ratio_to_pipeline'], '.2f')} | "
            f"{r['peak_rss_mb']} | {fmt(r['agreement_with_torch_fp32'], '.2%')} | "
            f"{f1(r['macro_f1'], r['macro_f1_delta'])} | "
            f"{f1(r['corpus_test_macro_f1'], r['corpus_test_delta'])} | {rechecked(r['rechecked_share'])} |"
        )
    return "\n".join(lines)


def explain_choice(rows: list[dict[str, Any]], device: str = "cpu") -> dict[str, str]:
    """What ``--device D --precision auto`` runs here and why, and the fastest measured mode."""

    from kontak_nlp.inference import RuntimeOptions

    auto = RuntimeOptions(device=device, precision="auto").resolve()
    kontak = [r for r in rows if r["mode"] != "pipeline"]
    accurate = [r for r in kontak if _within_accuracy_bar(r)]
    return {
        "precision_auto": f"--device {device} --precision auto runs torch {auto.precision} ({auto.reason})",
        "fastest": _describe("fastest measured path", kontak),
        "fastest_accurate": _describe(
            "fastest path with >= 99% agreement and eval macro-F1 within 0.01 of torch fp32", accurate
        ),
    }


def _within_accuracy_bar(row: dict[str, Any]) -> bool:
    delta = row["macro_f1_delta"]
    return (row["agreement_with_torch_fp32"] or 0.0) >= 0.99 and (delta is None or abs(delta) <= 0.01)


def _describe(what: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return f"{what}: none"
    best = max(rows, key=lambda r: r["sentences_per_s"])
    ratio, rounds = best["ratio_to_pipeline"], best["ratio_per_round"]
    spread = f"; {min(rounds)}-{max(rounds)}x in single rounds" if rounds else ""
    speed = f"{best['sentences_per_s']:.0f} sentences/s, {ratio}x the pipeline{spread}"
    return f"{what}: {best['mode']} ({speed})"


def machine() -> dict[str, Any]:
    import onnxruntime
    import torch
    import transformers

    from kontak_nlp.inference.options import cpu_supports_bf16, physical_cores

    return {
        "cpu": _cpu_name(), "physical_cores": physical_cores(), "load_average": os.getloadavg(),
        "native_bf16": cpu_supports_bf16(), "torch": torch.__version__,
        "transformers": transformers.__version__, "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
    }  # fmt: skip


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class Worker:
    """One mode's worker process (see :func:`serve_worker`), driven line by line."""

    def __init__(self, mode: str, work: Path) -> None:
        self.mode = mode
        cmd = [sys.executable, __file__, "--worker", mode, "--work", str(work)]
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.read()  # {"ready": true} once the model is loaded and warm

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                return json.loads(line)
        stderr = self.process.stderr.read() if self.process.stderr else ""
        raise RuntimeError(f"{self.mode} worker exited:\n{stderr[-3000:]}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def selected_modes(args: argparse.Namespace) -> list[str]:
    from kontak_nlp.inference.options import cpu_supports_bf16

    modes = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        if args.device != "cpu" and (mode.endswith(("int8", "int8_raw")) or mode.startswith("onnx")):
            print(f"skipping {mode}: CPU-only in this benchmark", file=sys.stderr)
        elif mode == "torch_bf16" and args.device == "cpu" and not cpu_supports_bf16():
            print("skipping torch_bf16: this CPU has no native bf16 (AVX512-BF16/AMX)", file=sys.stderr)
        else:
            modes.append(mode)
    return modes


def export_onnx_files(modes: list[str], model_dir: str) -> None:
    """Export (and quantize) the ONNX files up front, so the workers' RSS and load time are inference's."""
    from kontak_nlp.inference.onnx.backend import ensure_onnx

    wanted = {_LOAD[m].get("quantize") for m in modes if _LOAD.get(m, {}).get("backend") == "onnx"}
    if "int8" in wanted:
        wanted.add(None)  # the fp32 twin that rechecks int8 near-ties
    for quantize in sorted(wanted, key=str):
        print(f"exporting ONNX ({quantize or 'fp32'}) ...", file=sys.stderr, flush=True)
        ensure_onnx(model_dir, quantize=quantize)


def run_modes(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    """Load every mode in its own process, then time them in interleaved rounds.

    Round ``r`` runs the modes in an order rotated by ``r``; each mode's figure is the median of its
    rounds. Peak RSS is per process, so it is per mode.
    """
    workers: dict[str, Worker] = {}
    modes = selected_modes(args)
    export_onnx_files(modes, json.loads((work / "job.json").read_text(encoding="utf-8"))["model_dir"])
    try:
        for mode in modes:
            print(f"loading {mode} ...", file=sys.stderr, flush=True)
            try:
                workers[mode] = Worker(mode, work)
            except RuntimeError as err:
                print(f"{mode} failed: {err}", file=sys.stderr)
        for round_ in range(args.repeats):
            order = list(workers)
            order = order[round_ % len(order) :] + order[: round_ % len(order)] if order else order
            for mode in order:
                rate = workers[mode].ask("time")["run"]
                print(f"round {round_ + 1}/{args.repeats} {mode}: {rate:.1f}/s", file=sys.stderr, flush=True)
        return [worker.ask("finish") for worker in workers.values()]
    finally:
        for worker in workers.values():
            worker.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        serve_worker(args.worker, Path(args.work))
        return 0
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="kontak-bench-") as tmp:
        work = Path(tmp)
        model_dir, description = prepare_model(args, work)
        texts, eval_texts, eval_gold, test = prepare_texts(args)
        job = {"model_dir": str(model_dir), "texts": texts, "eval_texts": eval_texts,
               "test_texts": list(test["text"]),
               "batch_size": args.batch_size, "repeats": args.repeats, "threads": args.threads,
               "device": args.device}  # fmt: skip
        (work / "job.json").write_text(json.dumps(job), encoding="utf-8")
        results = run_modes(args, work)
    rows = summarise(results, eval_gold, list(test["label"]))
    report = {
        "started": started, "model": description, "n_sentences": len(texts), "batch_size": args.batch_size,
        "mean_tokens": results[0]["mean_tokens"] if results else None, "eval_rows": len(eval_gold),
        "machine": machine(), "device": args.device, "results": rows, **explain_choice(rows, args.device),
    }  # fmt: skip
    print(markdown(rows))
    print(f"\n{report['precision_auto']}\n{report['fastest']}\n{report['fastest_accurate']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
