"""Cold start: the first ``kontak_nlp.classify()`` in a fresh process, with a warm cache.

Each round starts two fresh Python processes, in alternating order:

* ``kontak``: ``import kontak_nlp; kontak_nlp.classify(SENTENCE)`` (the shipped default model);
* ``transformers``: the same model (merged once into a plain directory before timing) loaded with
  ``AutoTokenizer`` + ``AutoModelForSequenceClassification`` and run on the same sentence.

The figure is the wall time of the whole process (interpreter start to exit) as the parent sees it,
the median over rounds; the child also reports where its time went (import, load, first result).
The CPU time of the whole process (user + system, all threads, exit included) is recorded too: on
a shared machine it moves less than the wall time. One untimed warm-up run first fills the cache
(backbone conversion, recorded hashes, the tokenizer cache), and kontak_nlp's modules are
byte-compiled first, as ``pip install`` does (where ``PYTHONDONTWRITEBYTECODE`` is set, a source
checkout would otherwise compile them again in every process, ~0.4 s that no installed package pays).
The load average is recorded before and after: on a shared machine it explains outliers.

Usage:
    python benchmarks/cold_start.py --rounds 5 --out benchmarks/results/cold_start.json
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SENTENCE = "Menteri Luar Negeri Jepang bertemu mitranya dari Korea Selatan di Tokyo pada Senin."
REPO = Path(__file__).resolve().parent.parent

KONTAK = """
import time; t0 = time.perf_counter()
import kontak_nlp
from kontak_nlp.api import classify, load
t1 = time.perf_counter()
clf = load()
t2 = time.perf_counter()
label = classify({sentence!r}).label
t3 = time.perf_counter()
print({{"import_s": t1 - t0, "load_s": t2 - t1, "first_result_s": t3 - t2, "label": label}})
"""

PLAIN = """
import time; t0 = time.perf_counter()
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
t1 = time.perf_counter()
tokenizer = AutoTokenizer.from_pretrained({path!r})
model = AutoModelForSequenceClassification.from_pretrained({path!r}).eval()
t2 = time.perf_counter()
with torch.inference_mode():
    logits = model(**tokenizer([{sentence!r}], return_tensors="pt")).logits
label = model.config.id2label[int(logits.argmax())]
t3 = time.perf_counter()
print({{"import_s": t1 - t0, "load_s": t2 - t1, "first_result_s": t3 - t2, "label": label}})
"""


def run_child(code: str) -> dict[str, float | str]:
    """Run ``code`` in a fresh interpreter; returns its report plus ``process_s`` (the parent's clock)
    and ``process_cpu_s`` (the child's user + system CPU time, as the parent's rusage counts it)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRANSFORMERS_VERBOSITY": "error"}
    cpu_before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = eval(done.stdout.strip().splitlines()[-1])  # noqa: S307 - our own child's dict literal
    return {**report, "process_s": elapsed, "process_cpu_s": cpu}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def merged_copy(directory: Path) -> Path:
    """The default model merged into a plain transformers directory (what ``pipeline`` would load)."""
    code = "import sys, kontak_nlp; kontak_nlp.load(device='cpu').save_pretrained(sys.argv[1], merged=True)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code, str(directory)], check=True, env=env)
    return directory


def summarise(runs: list[dict[str, float | str]]) -> dict[str, float]:
    keys = ("process_s", "process_cpu_s", "import_s", "load_s", "first_result_s")
    return {f"median_{k}": round(statistics.median(float(r[k]) for r in runs), 3) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "cold_start.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    compileall.compile_dir(REPO / "kontak_nlp", quiet=1)  # as pip install does
    warm = run_child(KONTAK.format(sentence=SENTENCE))  # fills the cache; not timed
    with tempfile.TemporaryDirectory(prefix="kontak-cold-") as tmp:
        plain_dir = merged_copy(Path(tmp) / "merged")
        runs: dict[str, list[dict[str, float | str]]] = {"kontak": [], "transformers": []}
        for round_no in range(args.rounds):
            order = ["kontak", "transformers"] if round_no % 2 == 0 else ["transformers", "kontak"]
            for name in order:
                code = KONTAK if name == "kontak" else PLAIN
                runs[name].append(run_child(code.format(sentence=SENTENCE, path=str(plain_dir))))
                print(
                    name, {k: round(v, 2) if isinstance(v, float) else v for k, v in runs[name][-1].items()}
                )
    import torch

    kontak, plain = summarise(runs["kontak"]), summarise(runs["transformers"])
    result = {
        "what": "first classify() in a fresh process, warm cache; process wall time from the parent",
        "sentence": SENTENCE,
        "rounds": args.rounds,
        "kontak": {**kontak, "runs": runs["kontak"]},
        "transformers": {**plain, "runs": runs["transformers"]},
        "ratio_to_transformers": round(kontak["median_process_s"] / plain["median_process_s"], 2),
        "cpu_ratio_to_transformers": round(kontak["median_process_cpu_s"] / plain["median_process_cpu_s"], 2),
        "warm_up_process_s": round(float(warm["process_s"]), 2),
        "machine": {
            "cpus_available": len(os.sched_getaffinity(0)),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"kontak {kontak['median_process_s']:.2f} s, transformers {plain['median_process_s']:.2f} s, "
        f"ratio {result['ratio_to_transformers']:.2f} -> {args.out}"
    )


if __name__ == "__main__":
    main()
