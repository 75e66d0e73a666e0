"""Peak RSS of ``kontak-nlp classify`` on a generated 1,000,000-row JSONL with a tiny model.

Streaming must keep memory flat however large the input: the target is a peak RSS under 1.5 GB.
The script builds the tiny test model on the fly (no download), writes the input, runs the real
command in a subprocess, samples its RSS while it runs (to show it stays flat) and reports the
kernel's peak (``ru_maxrss`` of the child).

Example:
    python benchmarks/memory_stream.py --rows 1000000 --out benchmarks/results/memory_stream.json
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LIMIT_MB = 1536
WORDS = (
    "menteri luar negeri bertemu membahas sepakat menegaskan mendesak sanksi the minister met talks".split()
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--format", choices=["jsonl", "csv", "parquet"], default="jsonl", help="output format"
    )
    parser.add_argument("--chunk-size", type=int, default=2048)
    parser.add_argument("--threads", type=int, help="--num-threads for the job (default: physical cores)")
    parser.add_argument("--workdir", help="keep the input/output here (default: a temporary directory)")
    parser.add_argument("--out", default="benchmarks/results/memory_stream.json", help="JSON results file")
    return parser.parse_args(argv)


def build_model(directory: Path) -> Path:
    """The tiny BERT of the test suite (tests/_tiny.py), saved to ``directory``."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from _tiny import build_tiny_model

    return build_tiny_model(directory)


def write_input(path: Path, rows: int) -> None:
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(rows):
            text = " ".join(rng.choices(WORDS, k=rng.randint(3, 30))) + "."
            handle.write(json.dumps({"id": i, "text": text}) + "\n")


def sample_rss(proc: subprocess.Popen, every: float = 1.0) -> list[tuple[float, float]]:
    """``(seconds, RSS MB)`` of ``proc`` every ``every`` seconds until it exits (needs psutil)."""
    try:
        import psutil
    except ImportError:
        proc.wait()
        return []
    handle, started, samples = psutil.Process(proc.pid), time.monotonic(), []
    while proc.poll() is None:
        try:
            samples.append((round(time.monotonic() - started, 1), handle.memory_info().rss / 2**20))
        except psutil.NoSuchProcess:
            break
        time.sleep(every)
    proc.wait()
    return samples


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    model, source, output = (
        build_model(work / "tiny-model"),
        work / "input.jsonl",
        work / f"out.{args.format}",
    )
    if not source.exists():
        print(f"writing {args.rows:,} rows to {source} ...", file=sys.stderr)
        write_input(source, args.rows)
    cmd = [sys.executable, "-m", "kontak_nlp.cli", "classify", str(source), "-o", str(output),
           "--model", str(model), "--chunk-size", str(args.chunk_size), "--force", "--quiet"]  # fmt: skip
    cmd += ["--num-threads", str(args.threads)] if args.threads else []
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    samples = sample_rss(proc)
    seconds = time.monotonic() - started
    stderr = proc.stderr.read() if proc.stderr else ""
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rss = [mb for _, mb in samples]
    quarters = {
        f"rss_at_{q}pct_mb": round(rss[min(len(rss) - 1, len(rss) * q // 100)], 1) for q in (25, 50, 75)
    }
    return {
        "rows": args.rows, "output_format": args.format, "chunk_size": args.chunk_size,
        "exit_code": proc.returncode, "seconds": round(seconds, 1), "rows_per_s": round(args.rows / seconds),
        "peak_rss_mb": round(peak), "limit_mb": LIMIT_MB, "within_limit": peak < LIMIT_MB,
        **(quarters if rss else {}),
        "summary_line": stderr.strip().splitlines()[-1] if stderr.strip() else "",
        "input_mb": round(source.stat().st_size / 2**20), "samples": samples[:: max(1, len(samples) // 50)],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kontak-mem-") as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        report = run(args, work)
    print(
        f"{report['rows']:,} rows -> {report['output_format']}: peak RSS {report['peak_rss_mb']} MB "
        f"(limit {LIMIT_MB} MB, {'OK' if report['within_limit'] else 'OVER'}), RSS at 25/50/75% of the run: "
        + " / ".join(str(report.get(f"rss_at_{q}pct_mb")) for q in (25, 50, 75))
        + f" MB, {report['seconds']} s\n"
        + report["summary_line"]
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if report["exit_code"] == 0 and report["within_limit"] else 1


if __name__ == "__main__":
    sys.exit(main())
