"""Regression tests of issue 19: one writer per output, input identity on --resume, every bad row
follows --on-error, the job's own files are never its input, disk-full messages, repeated ids, CSV
formula cells, cheap checks before the model loads, and the self-repairing backbone cache."""

from __future__ import annotations

import csv
import errno
import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kontak_nlp import classify
from kontak_nlp.cli import main
from kontak_nlp.errors import InputError, ModelLoadError
from kontak_nlp.jobs import JobConfig, JobError, iter_predictions, run_job
from kontak_nlp.jobs import runner as runner_module

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORDS = "menteri luar negeri bertemu membahas sepakat mendesak the minister met talks urged".split()


def texts(n: int, offset: int = 0) -> list[str]:
    return [" ".join(WORDS[(i + offset + k) % len(WORDS)] for k in range(2 + i % 7)) + "." for i in range(n)]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def jsonl_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def job(tmp_path: Path, source: Path | str, out: str = "out.jsonl", **kwargs: Any) -> JobConfig:
    kwargs.setdefault("chunk_size", 10)
    return JobConfig(input=source, output=tmp_path / out, **kwargs)


class Crash(Exception):
    """Stands in for a kill after some chunks were committed."""


def crash_after_chunks(monkeypatch: pytest.MonkeyPatch, chunks: int) -> None:
    real_commit, calls = runner_module._commit, []

    def commit(*args: Any) -> None:
        if len(calls) == chunks:
            raise Crash()
        calls.append(1)
        real_commit(*args)

    monkeypatch.setattr(runner_module, "_commit", commit)


def no_model_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any) -> None:
        pytest.fail("the model was loaded before a cheap check failed")

    monkeypatch.setattr(runner_module, "_load", fail)


# --------------------------------------------------------------------------- one writer per output
HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, str(os.getpid()).encode())
print("locked", flush=True)
time.sleep(60)
"""


def hold_lock(lock: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
    return proc


def test_a_second_job_on_the_same_output_fails_at_once_naming_the_holder(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, out = write_jsonl(tmp_path / "in.jsonl", texts(20)), tmp_path / "out.jsonl"
    holder = hold_lock(tmp_path / "out.jsonl.lock")
    try:
        no_model_load(monkeypatch)
        started = time.monotonic()
        args = ["classify", str(source), "--model", str(tiny_model_dir), "-o", str(out), "--quiet"]
        assert main(args) == 2
        assert main([*args, "--force"]) == 2 and main([*args, "--resume"]) == 2
        assert time.monotonic() - started < 5
        err = capsys.readouterr().err
        assert f"another job (PID {holder.pid}) is writing this output" in err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl.lock"]
    finally:
        holder.kill()
        holder.wait()
    monkeypatch.undo()
    # the holder was killed: its lock is stale and the next job takes it over
    assert main(["classify", str(source), "--model", str(tiny_model_dir), "-o", str(out), "--quiet"]) == 0
    assert len(jsonl_rows(out)) == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_a_job_holds_the_lock_while_it_runs(tmp_path: Path, tiny_classifier: Any) -> None:
    source, seen = write_jsonl(tmp_path / "in.jsonl", texts(30)), []

    def proba(texts: list[str], **kwargs: Any) -> Any:
        with pytest.raises(JobError, match=f"another job \\(PID {os.getpid()}\\)"):
            run_job(job(tmp_path, source, force=True), model=tiny_classifier)
        seen.append(len(texts))
        return real(texts, **kwargs)

    real = tiny_classifier.predict_proba
    tiny_classifier.predict_proba = proba
    run_job(job(tmp_path, source), model=tiny_classifier)
    assert seen == [10, 10, 10] and len(jsonl_rows(tmp_path / "out.jsonl")) == 30


def test_a_lock_file_left_by_a_dead_process_is_taken_over(tmp_path: Path, tiny_classifier: Any) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    (tmp_path / "out.jsonl.lock").write_text(dead.stdout.decode())
    source = write_jsonl(tmp_path / "in.jsonl", texts(5))
    assert run_job(job(tmp_path, source), model=tiny_classifier).complete
    assert not (tmp_path / "out.jsonl.lock").exists()


# --------------------------------------------------------------------------- input identity
def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.FileIO(read_fd, "rb"))))


def test_resume_from_stdin_refuses_another_input(
    tmp_path: Path, tiny_classifier: Any, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = "".join(f"{t}\n" for t in texts(40)).encode()
    other = "".join(f"{t}\n" for t in texts(40, offset=3)).encode()
    (tmp_path / "ref.txt").write_bytes(first)
    run_job(job(tmp_path, tmp_path / "ref.txt", "ref.jsonl"), model=tiny_classifier)
    feed_stdin(monkeypatch, first)
    crash_after_chunks(monkeypatch, 2)
    with pytest.raises(Crash):
        run_job(job(tmp_path, "-"), model=tiny_classifier)
    monkeypatch.undo()
    feed_stdin(monkeypatch, other)
    no_model_load(monkeypatch)
    with pytest.raises(JobError, match="first 20 input rows are not those the interrupted job committed"):
        run_job(job(tmp_path, "-", resume=True, model=tiny_model_dir))
    feed_stdin(monkeypatch, b"".join(first.splitlines(keepends=True)[:10]))
    with pytest.raises(JobError, match="the input has 10 rows, but the interrupted job had already"):
        run_job(job(tmp_path, "-", resume=True, model=tiny_model_dir))
    monkeypatch.undo()
    feed_stdin(monkeypatch, first)
    summary = run_job(job(tmp_path, "-", resume=True), model=tiny_classifier)
    assert summary.resumed_from == 20 and summary.rows_read == 40
    assert (tmp_path / "out.jsonl").read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


def test_resume_refuses_a_same_size_edit_that_kept_the_mtime(
    tmp_path: Path, tiny_classifier: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", texts(30))
    before = source.stat()
    crash_after_chunks(monkeypatch, 1)
    with pytest.raises(Crash):
        run_job(job(tmp_path, source), model=tiny_classifier)
    monkeypatch.undo()
    data = source.read_bytes()
    source.write_bytes(data.replace(b"menteri", b"MENTERI", 1))
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert source.stat().st_size == before.st_size and source.stat().st_mtime_ns == before.st_mtime_ns
    no_model_load(monkeypatch)
    with pytest.raises(JobError, match="cannot resume, the job changed.*sha256"):
        run_job(job(tmp_path, source, resume=True))


# --------------------------------------------------------------------------- bad rows
SURROGATE_ROWS = [
    '{"id": "a", "text": "menteri bertemu."}',
    '{"id": "b", "text": "lone \\ud800 high"}',
    '{"id": "c\\udfff", "text": "the minister met."}',
    '{"id": "d", "text": "talks \\udc80 low"}',
    '{"id": "e", "text": "pair \\ud83d\\ude00 is fine."}',
]


@pytest.mark.parametrize("out", ["out.jsonl", "out.csv", "out.parquet"])
def test_lone_surrogates_in_any_field_follow_on_error(tmp_path: Path, tiny_classifier: Any, out: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(SURROGATE_ROWS) + "\n", encoding="ascii")
    with pytest.raises(InputError, match=r"input row 1 \(line 2\): text has an unpaired surrogate U\+D800"):
        run_job(job(tmp_path, source, out), model=tiny_classifier)
    summary = run_job(job(tmp_path, source, out, on_error="skip", resume=True), model=tiny_classifier)
    assert (summary.rows_read, summary.rows_written, summary.rows_errored) == (5, 2, 3)
    run_job(job(tmp_path, source, out, on_error="mark", with_text=True, force=True), model=tiny_classifier)
    if out.endswith(".csv"):
        with open(tmp_path / out, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    elif out.endswith(".parquet"):
        import pyarrow.parquet as pq

        rows = pq.read_table(tmp_path / out).to_pylist()
    else:
        rows = jsonl_rows(tmp_path / out)
    assert [str(r["row"]) for r in rows] == ["0", "1", "2", "3", "4"]
    assert [bool(r["error"]) for r in rows] == [False, True, True, True, False]
    assert "id has an unpaired surrogate" in rows[2]["error"] and rows[2]["id"] in (None, "")
    assert rows[4]["text"] == "pair \U0001f600 is fine."


def test_python_api_names_the_position_of_a_lone_surrogate(tiny_classifier: Any) -> None:
    with pytest.raises(
        InputError, match="position 2 has an unpaired surrogate U\\+D800 at character 1"
    ) as info:
        tiny_classifier.classify(["ok.", "fine.", "a\ud800"])
    assert info.value.position == 2
    with pytest.raises(InputError, match="position 0 has an unpaired surrogate"):
        classify("\udfff", model=tiny_classifier)
    with pytest.raises(InputError, match="position 0 has an unpaired surrogate"):
        tiny_classifier.predict("\udfff")
    with pytest.raises(InputError, match="position 5 has an unpaired surrogate") as info:
        list(iter_predictions([*texts(5), "x\udc80"], tiny_classifier, chunk_size=2))
    assert info.value.position == 5


class PickyTokenizer:
    """The tiny model's tokenizer, except that it rejects any text containing ``BOOM``."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __call__(self, batch: list[str], **kwargs: Any) -> Any:
        if any("BOOM" in text for text in batch):
            raise TypeError("TextEncodeInput must be Union[TextInputSequence, ...]")
        return self.real(batch, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_text_the_tokenizer_rejects_follows_on_error(tmp_path: Path, tiny_classifier: Any) -> None:
    tiny_classifier.tokenizer = PickyTokenizer(tiny_classifier.tokenizer)
    with pytest.raises(InputError, match="texts at position 1: the tokenizer rejects this text") as info:
        tiny_classifier.classify(["menteri.", "a BOOM b", "talks."])
    assert info.value.position == 1
    rows = [{"id": i, "text": t} for i, t in enumerate(texts(12))]
    rows[3]["text"], rows[11]["text"] = "BOOM", "x BOOM"
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    with pytest.raises(InputError, match=r"input row 3 \(line 4\): the tokenizer rejects this text"):
        run_job(job(tmp_path, source), model=tiny_classifier)
    summary = run_job(job(tmp_path, source, on_error="mark", force=True), model=tiny_classifier)
    marked = jsonl_rows(tmp_path / "out.jsonl")
    assert (summary.rows_written, summary.rows_errored) == (12, 2)
    assert [r["id"] for r in marked if r["error"]] == [3, 11] and marked[3]["label"] is None
    clean = [r for r in marked if not r["error"]]
    expected = tiny_classifier.predict([r["text"] for r in rows if "BOOM" not in r["text"]])
    assert [r["label"] for r in clean] == expected
    article = [{"id": "a1", "text": "Menteri bertemu di Jakarta. Lalu BOOM terjadi.\n\nThe minister met."}]
    source = write_jsonl(tmp_path / "art.jsonl", [*article, {"id": "a2", "text": "Talks urged."}])
    summary = run_job(
        job(tmp_path, source, "art.out.jsonl", articles=True, on_error="skip"), model=tiny_classifier
    )
    assert (summary.rows_read, summary.rows_written, summary.rows_errored) == (2, 1, 1)
    assert {r["article_id"] for r in jsonl_rows(tmp_path / "art.out.jsonl")} == {"a2"}


# --------------------------------------------------------------------------- files, errors, warnings
def test_the_input_may_not_be_one_of_the_jobs_own_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_model_load(monkeypatch)
    for name in ["out.jsonl.part", "out.jsonl.state.json", "out.jsonl.lock", "out.jsonl.state.json.tmp"]:
        source = write_jsonl(tmp_path / name, texts(3))
        with pytest.raises(JobError, match="the input is a working file of the job writing"):
            run_job(job(tmp_path, source, input_format="jsonl", force=True))
        assert source.read_text(encoding="utf-8").count("\n") == 3
    with pytest.raises(OSError, match="nowhere: the output directory does not exist"):
        run_job(job(tmp_path, tmp_path / "out.jsonl.part", "nowhere/out.jsonl", input_format="jsonl"))
    with pytest.raises(JobError, match="the output would overwrite the input"):
        run_job(job(tmp_path, write_jsonl(tmp_path / "out.jsonl", texts(3)), force=True))


def test_disk_full_message_survives_a_failing_close(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kontak_nlp.jobs import writers

    source, out = write_jsonl(tmp_path / "in.jsonl", texts(40)), tmp_path / "out.jsonl"
    real_commit, calls = writers.AppendWriter._commit, []

    def full(self: Any, data: bytes) -> None:
        calls.append(1)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_commit(self, data)

    def close_fails_too(self: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writers.AppendWriter, "_commit", full)
    monkeypatch.setattr(writers.AppendWriter, "close", close_fails_too)
    args = ["classify", str(source), "--model", str(tiny_model_dir), "-o", str(out), "--quiet"]
    assert main([*args, "--chunk-size", "10"]) == 5
    err = capsys.readouterr().err
    assert f"disk full while writing {out}.part (No space left on device); free some space" in err
    assert "[Errno 28]" not in err


def test_repeated_ids_are_counted_and_warned(
    tmp_path: Path, tiny_classifier: Any, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [{"id": i % 7, "text": t} for i, t in enumerate(texts(25))]
    rows.append({"id": "3", "text": "a string id is another id."})
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    with caplog.at_level(logging.WARNING, logger="kontak_nlp"):
        summary = run_job(job(tmp_path, source), model=tiny_classifier)
    assert summary.duplicate_ids == 18 and summary.rows_written == 26
    assert "18 input row(s) repeat an id" in caplog.text and "18 repeated id(s)" in summary.line()
    unique = run_job(
        job(tmp_path, write_jsonl(tmp_path / "u.jsonl", texts(5)), "u.out.jsonl"), model=tiny_classifier
    )
    assert unique.duplicate_ids == 0 and "repeated id" not in unique.line()


def test_csv_output_neutralises_formula_cells_unless_raw(tmp_path: Path, tiny_classifier: Any) -> None:
    rows = [{"id": "=1+1", "text": "@SUM(A1) menteri."}, {"id": "+62", "text": "-the minister met."}]
    rows.append({"id": "ok", "text": "plain =text."})
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    run_job(job(tmp_path, source, "safe.csv", with_text=True), model=tiny_classifier)
    run_job(job(tmp_path, source, "raw.csv", with_text=True, raw_csv=True), model=tiny_classifier)
    with open(tmp_path / "safe.csv", encoding="utf-8", newline="") as handle:
        safe = list(csv.DictReader(handle))
    with open(tmp_path / "raw.csv", encoding="utf-8", newline="") as handle:
        raw = list(csv.DictReader(handle))
    assert [(r["id"], r["text"]) for r in safe] == [
        ("'=1+1", "'@SUM(A1) menteri."),
        ("'+62", "'-the minister met."),
        ("ok", "plain =text."),
    ]
    assert [(r["id"], r["text"]) for r in raw] == [(r["id"], r["text"]) for r in rows]
    assert [r["label"] for r in safe] == [r["label"] for r in raw]


# --------------------------------------------------------------------------- cheap checks first
def relabelled(tiny_model_dir: Path, tmp_path: Path) -> Path:
    import shutil

    other = Path(shutil.copytree(tiny_model_dir, tmp_path / "relabelled"))
    config = json.loads((other / "config.json").read_text())
    config["id2label"] = {str(i): f"label_{i}" for i in range(4)}
    config["label2id"] = {f"label_{i}": i for i in range(4)}
    (other / "config.json").write_text(json.dumps(config))
    (other / "checksums.json").unlink()
    return other


def test_cheap_checks_fail_before_the_model_loads(
    tmp_path: Path, tiny_model_dir: Path, tiny_classifier: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", texts(30))
    crash_after_chunks(monkeypatch, 1)
    with pytest.raises(Crash):
        run_job(job(tmp_path, source, model=tiny_model_dir, all_scores=True), model=tiny_classifier)
    monkeypatch.undo()
    (tmp_path / "done.jsonl").write_text("keep\n")
    other = relabelled(tiny_model_dir, tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{ truncated")
    no_model_load(monkeypatch)
    resume = {"model": tiny_model_dir, "all_scores": True, "resume": True}
    cases = [
        (job(tmp_path, source, "done.jsonl", model=tiny_model_dir), JobError, "output file exists"),
        (
            job(tmp_path, source, "x.jsonl", model=tmp_path / "nope"),
            ModelLoadError,
            "directory does not exist",
        ),
        (
            job(tmp_path, source, "x.jsonl", model=tmp_path / "broken"),
            ModelLoadError,
            "config.json: not valid",
        ),
        (job(tmp_path, source, **{**resume, "chunk_size": 20}), JobError, "chunk_size: was 10, now 20"),
        (job(tmp_path, source, **{**resume, "model": other}), JobError, "score_label_0"),
    ]
    for config, error, message in cases:
        with pytest.raises(error, match=message):
            run_job(config)
    monkeypatch.undo()
    summary = run_job(job(tmp_path, source, **resume))
    assert summary.resumed_from == 10 and summary.rows_read == 30
