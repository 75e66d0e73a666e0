"""A job killed (SIGKILL) just before or just after every commit step resumes to the same bytes.

The commit steps are every ``os.fsync`` (a chunk, a Parquet part, the state file, a directory) and
every ``os.replace`` (the state file, a Parquet part, the final rename). The job runs in a forked
child that kills itself at the chosen step; the parent resumes it and compares the output with
an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from kontak_nlp.jobs import JobConfig, run_job

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
]

WORDS = "menteri luar negeri bertemu membahas sepakat mendesak the minister met talks urged".split()
STEPS = ("fsync", "replace")


def count_steps(monkeypatch: pytest.MonkeyPatch, run: Any) -> int:
    """How many commit steps an uninterrupted ``run()`` takes."""
    calls = [0]
    for name in STEPS:
        real = getattr(os, name)

        def counted(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            calls[0] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, name, counted)
    try:
        run()
    finally:
        monkeypatch.undo()
    return calls[0]


def killed_at(step: int, after: bool, run: Any, timeout: float = 60.0) -> bool:
    """Run ``run()`` in a forked child that SIGKILLs itself before (or after) commit step ``step``.

    Returns True when the child died by SIGKILL, False when it finished first.
    """
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            calls = [0]
            for name in STEPS:
                real = getattr(os, name)

                def step_then_maybe_die(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
                    calls[0] += 1
                    if calls[0] == step and not after:
                        os.kill(os.getpid(), signal.SIGKILL)
                    result = _real(*args, **kwargs)
                    if calls[0] == step and after:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return result

                setattr(os, name, step_then_maybe_die)
            run()
            os._exit(0)
        except BaseException:
            os._exit(1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1), "the child job failed"
            return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"the child job hung at step {step}")


@pytest.mark.parametrize("out", ["out.jsonl", "out.csv", "out.parquet"])
def test_kill_at_every_commit_step_then_resume_is_byte_identical(
    tmp_path: Path, tiny_classifier: Any, monkeypatch: pytest.MonkeyPatch, out: str
) -> None:
    source = tmp_path / "in.jsonl"
    rows = [{"id": f"s{i}", "text": " ".join(WORDS[i % 5 : i % 5 + 2 + i % 6]) + "."} for i in range(25)]
    rows[7]["text"] = ""  # a bad row, marked
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    options = {"chunk_size": 10, "on_error": "mark", "all_scores": True}
    reference = tmp_path / f"ref{Path(out).suffix}"
    run_job(JobConfig(source, reference, **options), model=tiny_classifier)
    target = tmp_path / out

    def fresh() -> None:
        run_job(JobConfig(source, target, force=True, **options), model=tiny_classifier)

    steps = count_steps(monkeypatch, fresh)
    target.unlink()
    assert steps >= 3 * 4  # at least a chunk fsync and a state save per chunk
    for step in range(1, steps + 1):
        for after in (False, True):
            assert killed_at(step, after, fresh), f"step {step} was not reached"
            summary = run_job(JobConfig(source, target, resume=True, **options), model=tiny_classifier)
            assert summary.complete and summary.rows_read == 25, (step, after)
            assert target.read_bytes() == reference.read_bytes(), (step, after)
            assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.jsonl", reference.name, out])
            target.unlink()
