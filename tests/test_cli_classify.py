"""``kontak-nlp classify``: kill -9 and resume, stdin, exit codes, summary line, disk full."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from kontak_nlp.cli import main

WORDS = "menteri luar negeri bertemu membahas sepakat mendesak the minister met talks urged".split()


@pytest.fixture(autouse=True)
def _restore_threads() -> Any:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def write_jsonl(path: Path, n: int, seed: int = 0, bad_every: int = 0) -> Path:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            text = " ".join(rng.choices(WORDS, k=rng.randint(2, 30))) + "."
            if bad_every and i % bad_every == bad_every - 1:
                text = ""
            handle.write(json.dumps({"id": i, "text": text}) + "\n")
    return path


def classify_args(source: Path | str, model: Path, *extra: str) -> list[str]:
    fast = ["--num-threads", "1", "--precision", "fp32", "--quiet"]
    return ["classify", str(source), "--model", str(model), *fast, *extra]


def committed_rows(state: Path) -> int:
    try:
        return json.loads(state.read_text(encoding="utf-8"))["rows_in"]
    except (OSError, ValueError, KeyError):
        return -1


def run_until(cmd: list[str], state: Path, target: int | None, delay: float, deadline: float) -> int | None:
    """Start ``cmd``; SIGKILL it once ``target`` rows are committed (plus ``delay`` s), or after
    ``delay`` s when ``target`` is None. Returns the exit code if it finished first, else None."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started = time.monotonic()
    while proc.poll() is None and time.monotonic() < deadline:
        if target is None and time.monotonic() - started >= delay:
            break
        if target is not None and committed_rows(state) >= target:
            time.sleep(delay)
            break
        time.sleep(0.001)
    if proc.poll() is not None:
        assert proc.returncode == 0, proc.stderr.read().decode()
        return proc.returncode
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return None


def test_kill_9_at_random_points_then_resume_gives_identical_output(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n, seed = 2500, int(os.environ.get("KONTAK_KILL_SEED", "7"))
    rng = random.Random(seed)
    source = write_jsonl(tmp_path / "in.jsonl", n, bad_every=97)
    options = ("--chunk-size", "25", "--on-error", "mark", "--all-scores")
    assert main(classify_args(source, tiny_model_dir, "-o", str(tmp_path / "ref.jsonl"), *options)) == 0
    reference = (tmp_path / "ref.jsonl").read_bytes()
    out, state = tmp_path / "out.jsonl", tmp_path / "out.jsonl.state.json"
    cmd = [
        sys.executable,
        "-m",
        "kontak_nlp.cli",
        *classify_args(source, tiny_model_dir, "-o", str(out), *options),
    ]
    deadline = time.monotonic() + 120
    # One kill during start-up (before any state exists), then two at random points of the run (a
    # random number of committed rows plus a random delay, so the kill lands anywhere in a chunk).
    plan: list[tuple[int | None, float]] = [(None, rng.uniform(0.1, 1.0))]
    plan += [(t, rng.uniform(0.0, 0.01)) for t in sorted(rng.sample(range(50, int(n * 0.8)), 2))]
    finished, kills, at = False, 0, []
    for attempt, (target, delay) in enumerate(plan):
        finished = run_until(cmd + (["--resume"] if attempt else []), state, target, delay, deadline) == 0
        if out.exists():  # the final file only ever appears complete
            assert out.read_bytes() == reference
        if finished:
            break
        kills += 1
        at.append(committed_rows(state))
    if not finished:
        done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert f"{n} rows read, {n} written" in done.stderr
    print(f"kill/resume: seed {seed}, {kills} SIGKILLs, plan {plan}, committed rows at each kill {at}")
    assert kills == 3
    assert out.read_bytes() == reference
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl", "ref.jsonl"]


def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Make ``sys.stdin`` a real pipe holding ``data``."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.FileIO(read_fd, "rb"))))


@pytest.mark.parametrize(
    "data, first",
    [
        (b"Menteri bertemu.\nThe minister met.\n\n", {"row": 0}),
        (b'{"id": "x", "text": "Halo."}\n', {"id": "x"}),
    ],
)
def test_stdin_to_stdout(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_model_dir: Path,
    data: bytes,
    first: Any,
) -> None:
    feed_stdin(monkeypatch, data)
    assert main(classify_args("-", tiny_model_dir, "--on-error", "skip")) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert rows and first.items() <= rows[0].items() and rows[0]["label"]
    expected = len([line for line in data.splitlines() if line.strip()])
    assert captured.err.startswith(
        f"kontak-nlp classify: {expected} rows read, {expected} written, 0 errored"
    )
    blank = len(data.splitlines()) - expected
    assert (f"{blank} blank line(s) skipped" in captured.err) == (blank > 0 and data[:1] != b"{")


def test_summary_line_and_no_progress_bar_without_tty(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 30, bad_every=10)
    args = classify_args(source, tiny_model_dir, "-o", str(tmp_path / "o.csv"), "--on-error", "skip")
    args.remove("--quiet")
    assert main(args) == 0
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("kontak-nlp classify: 30 rows read, 27 written, 3 errored (skip) in ")
    assert last.endswith(f"-> {tmp_path / 'o.csv'}")
    assert "rows/s]" not in err and "%|" not in err  # no tqdm bar: stderr is not a terminal


def corrupt_model(tmp_path: Path, tiny_model_dir: Path) -> Path:
    bad = tmp_path / "bad-model"
    shutil.copytree(tiny_model_dir, bad)
    (bad / "config.json").write_text("{ truncated", encoding="utf-8")
    return bad


CASES = {
    "missing column": (4, "text column 'body' not found", ["--text-column", "body"]),
    "undecodable file": (4, "undecodable", []),
    "missing input": (4, "does not exist", []),
    "missing model dir": (3, "model directory does not exist", []),
    "corrupt model dir": (3, "config.json", []),
    "bad row": (2, "input row 2 (line 3): empty text; use --on-error skip", []),
    "output exists": (2, "output file exists; pass --force", []),
    "resume to stdout": (2, "--resume needs an output file", ["--resume"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_errors_give_a_message_and_a_documented_exit_code(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    code, message, extra = CASES[case]
    source, model = write_jsonl(tmp_path / "in.jsonl", 5, bad_every=3), tiny_model_dir
    out = tmp_path / "out.jsonl"
    if case == "undecodable file":
        source = tmp_path / "in.txt"
        source.write_bytes("Menteri bertemu.\n".encode("utf-16"))
    elif case == "missing input":
        source = tmp_path / "nope.jsonl"
    elif case == "missing model dir":
        model = tmp_path / "no-model"
    elif case == "corrupt model dir":
        model = corrupt_model(tmp_path, tiny_model_dir)
    elif case == "output exists":
        out.write_text("keep me\n")
    args = classify_args(source, model, *extra) + ([] if case == "resume to stdout" else ["-o", str(out)])
    assert main(args) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert case != "output exists" or out.read_text() == "keep me\n"


def test_disk_full_exits_5_and_the_job_resumes(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kontak_nlp.jobs import writers

    source, out = write_jsonl(tmp_path / "in.jsonl", 60), tmp_path / "out.jsonl"
    args = classify_args(source, tiny_model_dir, "-o", str(out), "--chunk-size", "10")
    real_fsync, calls = os.fsync, []

    def full_after_three(fd: int) -> None:
        calls.append(fd)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(writers.os, "fsync", full_after_three)
    assert main(args) == 5
    err = capsys.readouterr().err
    assert "disk full while writing" in err and "--resume" in err and "Traceback" not in err
    monkeypatch.undo()
    assert main(args + ["--resume"]) == 0
    assert len(out.read_text().splitlines()) == 60
    full = open("/dev/full", "w")  # noqa: SIM115  (a real ENOSPC, on stdout)
    monkeypatch.setattr(sys, "stdout", full)
    assert main(classify_args(source, tiny_model_dir)) == 5
    monkeypatch.undo()
    with contextlib.suppress(OSError):  # closing flushes what is still buffered: ENOSPC again
        full.close()
    assert "disk full while writing stdout (No space left on device)\n" in capsys.readouterr().err
