"""Batch jobs in-process: formats, --on-error, article mode, overwrite rules, resume after a crash."""

from __future__ import annotations

import csv
import json
import logging
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import kontak_nlp
from kontak_nlp import Classifier
from kontak_nlp.errors import DataError, InputError
from kontak_nlp.jobs import JobConfig, JobError, iter_predictions, run_job
from kontak_nlp.jobs import runner as runner_module

WORDS = "menteri luar negeri bertemu membahas sepakat menegaskan mendesak the minister met talks".split()
ARTICLE = (
    "Menlu RI Terima Dubes Jepang\n"
    "JAKARTA - Menteri luar negeri bertemu di Jakarta pada Senin. Mereka membahas perang.\n"
    "Baca juga: Menlu ke Tokyo\n"
    "The minister said talks will continue."
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(2, 25))) + "." for _ in range(n)]


def write_input(path: Path, texts: list[Any], ids: bool = True) -> Path:
    """Write ``texts`` in the format of ``path``'s extension (ids ``s0, s1...`` where supported)."""
    rows = [{"id": f"s{i}", "text": t} if ids else {"text": t} for i, t in enumerate(texts)]
    if path.suffix == ".txt":
        path.write_text("".join(f"{t}\n" for t in texts), encoding="utf-8")
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif path.suffix in (".csv", ".tsv"):
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, list(rows[0]), delimiter="\t" if path.suffix == ".tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    return pq.read_table(path).to_pylist()


def job(tmp_path: Path, source: Path, out: str = "out.jsonl", **kwargs: Any) -> JobConfig:
    kwargs.setdefault("chunk_size", 16)
    return JobConfig(input=source, output=tmp_path / out, **kwargs)


def test_iter_predictions_streams_in_order(tiny_classifier: Any) -> None:
    texts = sentences(40)
    pulled = []

    def source() -> Any:
        for text in texts:
            pulled.append(text)
            yield text

    stream = iter_predictions(source(), tiny_classifier, chunk_size=8, batch_size=4)
    first = next(stream)
    assert len(pulled) == 8  # lazy: only the first chunk was read
    got = [first, *stream]
    expected = tiny_classifier.classify(texts, batch_size=4)
    assert [p.label for p in got] == [p.label for p in expected]
    assert [p.text for p in got] == texts


def test_iter_predictions_names_the_bad_position(tiny_classifier: Any) -> None:
    with pytest.raises(InputError, match="position 9"):
        list(iter_predictions([*sentences(9), None], tiny_classifier, chunk_size=4))


@pytest.mark.parametrize("suffix", [".txt", ".jsonl", ".csv", ".tsv", ".parquet"])
def test_every_input_format_gives_the_same_predictions(
    tmp_path: Path, tiny_classifier: Any, suffix: str
) -> None:
    texts = sentences(30)
    source = write_input(tmp_path / f"in{suffix}", texts)
    summary = run_job(job(tmp_path, source), model=tiny_classifier)
    rows = read_output(tmp_path / "out.jsonl")
    proba = tiny_classifier.predict_proba(texts)
    assert summary.rows_read == summary.rows_written == 30 and summary.complete
    assert [r["row"] for r in rows] == list(range(30))
    assert [r["label"] for r in rows] == [tiny_classifier.labels[i] for i in proba.argmax(axis=1)]
    assert [r["score"] for r in rows] == pytest.approx(proba.max(axis=1).tolist(), abs=2e-6)
    assert ("id" in rows[0]) == (suffix != ".txt")


@pytest.mark.parametrize("out", ["out.jsonl", "out.csv", "out.parquet"])
def test_every_output_format_holds_the_same_rows(tmp_path: Path, tiny_classifier: Any, out: str) -> None:
    source = write_input(tmp_path / "in.jsonl", sentences(25))
    run_job(job(tmp_path, source, "ref.jsonl", all_scores=True, with_text=True), model=tiny_classifier)
    run_job(job(tmp_path, source, out, all_scores=True, with_text=True), model=tiny_classifier)
    expected, got = read_output(tmp_path / "ref.jsonl"), read_output(tmp_path / out)
    assert not list(tmp_path.glob("out.*.*"))  # no .part / .parts / .state.json left behind
    assert list(got[0]) == list(expected[0])
    for want, have in zip(expected, got, strict=True):
        assert (str(have["id"]), int(have["row"]), have["label"]) == (want["id"], want["row"], want["label"])
        assert float(have["score_demand"]) == pytest.approx(want["score_demand"], abs=1e-9)
        assert have["text"] == want["text"]


def bad_jsonl(path: Path) -> Path:
    lines = [
        json.dumps({"id": "a", "text": "menteri bertemu."}).encode(),
        json.dumps({"id": "b", "text": ""}).encode(),
        json.dumps({"id": "c", "text": None}).encode(),
        json.dumps({"id": "d", "text": 5}).encode(),
        b"{not json",
        b'{"id": "f", "text": "caf\xe9 broken bytes"}',
        json.dumps({"id": "g"}).encode(),
        json.dumps({"id": "h", "text": "the minister met."}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_on_error_raise_stops_with_the_row_number(tmp_path: Path, tiny_classifier: Any) -> None:
    source = bad_jsonl(tmp_path / "in.jsonl")
    with pytest.raises(InputError, match=r"input row 1 \(line 2\): empty text") as info:
        run_job(job(tmp_path, source, on_error="raise"), model=tiny_classifier)
    assert info.value.job_summary.rows_read == 0
    assert not (tmp_path / "out.jsonl").exists()
    # the stopped job goes on past the bad rows with --on-error skip
    summary = run_job(job(tmp_path, source, on_error="skip", resume=True), model=tiny_classifier)
    assert summary.rows_errored == 6 and len(read_output(tmp_path / "out.jsonl")) == 2


def test_on_error_skip_omits_and_counts(tmp_path: Path, tiny_classifier: Any) -> None:
    summary = run_job(job(tmp_path, bad_jsonl(tmp_path / "in.jsonl"), on_error="skip"), model=tiny_classifier)
    rows = read_output(tmp_path / "out.jsonl")
    assert [r["id"] for r in rows] == ["a", "h"]
    assert (summary.rows_read, summary.rows_written, summary.rows_errored) == (8, 2, 6)
    assert "6 errored (skip)" in summary.line()


def test_on_error_mark_writes_an_error_field(tmp_path: Path, tiny_classifier: Any) -> None:
    run_job(job(tmp_path, bad_jsonl(tmp_path / "in.jsonl"), on_error="mark"), model=tiny_classifier)
    rows = {r["row"]: r for r in read_output(tmp_path / "out.jsonl")}
    assert len(rows) == 8
    assert rows[0]["error"] is None and rows[0]["label"]
    errors = {row: rows[row]["error"] for row in range(1, 7)}
    assert errors[1] == "empty text" and errors[2] == "text is None"
    assert "expected str" in errors[3] and "invalid JSON" in errors[4]
    assert "not valid UTF-8" in errors[5] and errors[6] == "no 'text' field"
    assert all(rows[r]["label"] is None and rows[r]["score"] is None for r in range(1, 7))


def test_txt_blank_lines_are_skipped_and_counted_and_rows_keep_their_line_numbers(
    tmp_path: Path, tiny_classifier: Any
) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b"menteri bertemu.\n\nbad \xff byte\r\n  \nthe minister met.")
    summary = run_job(job(tmp_path, source, on_error="skip"), model=tiny_classifier)
    assert summary.blank_lines == 2 and "2 blank line(s) skipped" in summary.line()
    (tmp_path / "out.jsonl").unlink()
    run_job(job(tmp_path, source, on_error="mark", with_text=True), model=tiny_classifier)
    rows = read_output(tmp_path / "out.jsonl")
    assert [r["row"] for r in rows] == [0, 2, 4]
    assert [r["error"] is not None for r in rows] == [False, True, False]
    assert rows[2]["text"] == "the minister met."


def check_article_rows(rows: list[dict[str, Any]], articles: dict[Any, str]) -> None:
    for row in rows:
        article = articles[row["article_id"]]
        assert article[row["start"] : row["end"]] == row["text"]
        assert (row["label"] is None) == row["boilerplate"]
    for article_id in articles:
        indices = [r["sentence_index"] for r in rows if r["article_id"] == article_id]
        assert indices == list(range(len(indices))) and indices


def test_articles_from_a_directory_keep_offsets(tmp_path: Path, tiny_classifier: Any) -> None:
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    texts = {"a.txt": ARTICLE, "sub/b.txt": "Kedua menteri bertemu. Share:\nMereka sepakat."}
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    summary = run_job(
        job(tmp_path, folder, articles=True, with_text=True, chunk_size=3), model=tiny_classifier
    )
    rows = read_output(tmp_path / "out.jsonl")
    check_article_rows(rows, texts)
    assert [r["reason"] for r in rows if r["boilerplate"]] == ["read_also", "share"]
    assert summary.rows_read == 2 and summary.units_written == len(rows) and summary.boilerplate_rows == 2


def test_articles_from_blank_line_blocks_and_jsonl(tmp_path: Path, tiny_classifier: Any) -> None:
    blocks = [ARTICLE, "Menteri bertemu di Tokyo. Mereka membahas sanksi."]
    (tmp_path / "in.txt").write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    run_job(
        job(tmp_path, tmp_path / "in.txt", "txt.jsonl", articles=True, with_text=True), model=tiny_classifier
    )
    check_article_rows(read_output(tmp_path / "txt.jsonl"), dict(enumerate(blocks)))
    source = write_input(tmp_path / "in.jsonl", blocks)
    run_job(job(tmp_path, source, "j.csv", articles=True, with_text=True), model=tiny_classifier)
    rows = read_output(tmp_path / "j.csv")
    for row in rows:
        row.update(start=int(row["start"]), end=int(row["end"]), sentence_index=int(row["sentence_index"]))
        row.update(boilerplate=row["boilerplate"] == "true", label=row["label"] or None)
    check_article_rows(rows, {f"s{i}": text for i, text in enumerate(blocks)})


def test_existing_output_needs_force(tmp_path: Path, tiny_classifier: Any) -> None:
    source = write_input(tmp_path / "in.txt", sentences(5))
    (tmp_path / "out.jsonl").write_text("precious\n")
    with pytest.raises(JobError, match="--force"):
        run_job(job(tmp_path, source), model=tiny_classifier)
    assert (tmp_path / "out.jsonl").read_text() == "precious\n"
    run_job(job(tmp_path, source, force=True), model=tiny_classifier)
    assert len(read_output(tmp_path / "out.jsonl")) == 5


def test_missing_columns_and_undecodable_files_raise_data_error(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.csv", sentences(3))
    with pytest.raises(DataError, match="text column 'body' not found"):
        run_job(job(tmp_path, source, text_column="body"))
    with pytest.raises(DataError, match="id column 'key' not found"):
        run_job(job(tmp_path, write_input(tmp_path / "in.parquet", sentences(3)), id_column="key"))
    (tmp_path / "u16.txt").write_bytes("Menteri bertemu.\n".encode("utf-16"))
    with pytest.raises(DataError, match="UTF-16"):
        run_job(job(tmp_path, tmp_path / "u16.txt"))
    (tmp_path / "bin.jsonl").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(DataError, match="undecodable"):
        run_job(job(tmp_path, tmp_path / "bin.jsonl"))


class Crash(Exception):
    """Stands in for a kill in the middle of a job."""


def inject_crash(monkeypatch: pytest.MonkeyPatch, where: str, at_call: int = 4) -> None:
    """Crash on the ``at_call``-th chunk: before writing it (``between``), halfway through writing it
    (``partial``), or after writing it but before the state records it (``torn``)."""
    from kontak_nlp.jobs import writers

    calls = []

    def counted(real: Any, before: Any = None) -> Any:
        def wrapper(self: Any, *args: Any) -> Any:
            calls.append(1)
            if len(calls) == at_call:
                if before:
                    before(self, *args)
                raise Crash()
            return real(self, *args) if self is not None else real(*args)

        return wrapper

    def half(self: Any, rows: Any) -> None:
        if isinstance(self, writers.AppendWriter):
            data = self.encode(rows)
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
        else:
            (self.paths.parts_dir / f"part-{self.position:06d}.parquet.tmp").write_bytes(b"PAR1 trunc")

    if where == "torn":
        real_save = runner_module.save_state
        monkeypatch.setattr(runner_module, "save_state", lambda p, s: counted(real_save)(None, p, s))
    else:
        for cls in (writers.AppendWriter, writers.ParquetPartsWriter):
            before = half if where == "partial" else None
            monkeypatch.setattr(cls, "write_chunk", counted(cls.write_chunk, before))


@pytest.mark.parametrize("out", ["out.jsonl", "out.csv", "out.parquet"])
@pytest.mark.parametrize("where", ["between", "partial", "torn"])
def test_resume_after_a_crash_matches_an_uninterrupted_run(
    tmp_path: Path, tiny_classifier: Any, monkeypatch: pytest.MonkeyPatch, out: str, where: str
) -> None:
    source = write_input(tmp_path / "in.jsonl", sentences(60))
    reference = tmp_path / ("ref" + Path(out).suffix)
    run_job(job(tmp_path, source, reference.name, chunk_size=10), model=tiny_classifier)
    inject_crash(monkeypatch, where)
    with pytest.raises(Crash):
        run_job(job(tmp_path, source, out, chunk_size=10), model=tiny_classifier)
    monkeypatch.undo()
    assert not (tmp_path / out).exists()
    with pytest.raises(JobError, match="--resume"):
        run_job(job(tmp_path, source, out, chunk_size=10), model=tiny_classifier)
    with pytest.raises(JobError, match="chunk_size"):
        run_job(job(tmp_path, source, out, chunk_size=20, resume=True), model=tiny_classifier)
    summary = run_job(job(tmp_path, source, out, chunk_size=10, resume=True), model=tiny_classifier)
    # 3 chunks committed; "torn" loses the 3rd chunk's state update (the first save is the initial state)
    assert summary.resumed_from == (20 if where == "torn" else 30) and summary.rows_read == 60
    if out.endswith(".parquet"):
        assert read_output(tmp_path / out) == read_output(reference)
    else:
        assert (tmp_path / out).read_bytes() == reference.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.jsonl", out, reference.name])


@pytest.mark.parametrize("out", ["out.jsonl", "out.parquet"])
@pytest.mark.parametrize("after_rename", [False, True])
def test_crash_while_publishing_resumes_without_redoing_work(
    tmp_path: Path, tiny_classifier: Any, monkeypatch: pytest.MonkeyPatch, out: str, after_rename: bool
) -> None:
    from kontak_nlp.jobs import writers

    source = write_input(tmp_path / "in.jsonl", sentences(30))
    reference = tmp_path / ("ref" + Path(out).suffix)
    run_job(job(tmp_path, source, reference.name), model=tiny_classifier)
    cls = writers.ParquetPartsWriter if out.endswith(".parquet") else writers.AppendWriter
    real_publish = cls.publish

    def crash(self: Any) -> None:
        if after_rename:
            real_publish(self)
        raise Crash()

    monkeypatch.setattr(cls, "publish", crash)
    with pytest.raises(Crash):
        run_job(job(tmp_path, source, out), model=tiny_classifier)
    monkeypatch.undo()
    assert (tmp_path / out).exists() == after_rename
    summary = run_job(job(tmp_path, source, out, resume=True), model="not loaded: nothing is left to do")
    assert summary.complete and summary.rows_read == 30
    assert read_output(tmp_path / out) == read_output(reference)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.jsonl", out, reference.name])


def test_progress_bar_only_when_asked_or_on_a_terminal(
    tmp_path: Path, tiny_classifier: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_input(tmp_path / "in.txt", sentences(20))
    run_job(job(tmp_path, source, "quiet.jsonl"), model=tiny_classifier)  # stderr is not a TTY here
    assert capsys.readouterr().err == ""
    run_job(job(tmp_path, source, "bar.jsonl", progress=True), model=tiny_classifier)
    err = capsys.readouterr().err
    assert "20/20" in err and "rows/s" in err


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="--resume needs an output"):
        JobConfig("in.txt", resume=True)
    with pytest.raises(ValueError, match="unknown output format"):
        JobConfig("in.txt", "out.xlsx")
    with pytest.raises(ValueError, match="on_error"):
        JobConfig("in.txt", on_error="ignore")


def test_truncation_and_empty_text_warn_once_per_call_and_per_job(
    tiny_classifier: Classifier, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    long_text = " ".join(["menteri"] * 200)  # far past the tiny model's 64 tokens
    with caplog.at_level(logging.WARNING, logger="kontak_nlp"):
        kontak_nlp.classify([long_text, "", long_text], model=tiny_classifier)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("truncated" in m for m in messages) == 1
    assert sum("empty or whitespace-only" in m for m in messages) == 1  # texts validated once
    caplog.clear()
    source = tmp_path / "long.txt"
    source.write_text((long_text + "\n") * 12, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="kontak_nlp"):
        run_job(job(tmp_path, source, chunk_size=4), model=tiny_classifier)  # 3 chunks
    messages = [r.getMessage() for r in caplog.records]
    assert sum("reached the model limit" in m for m in messages) == 1
    assert any("2 more chunk(s) had texts truncated" in m for m in messages)


def test_a_failed_run_blocks_a_rerun_of_the_same_input_but_not_of_a_corrected_one(
    tmp_path: Path, tiny_classifier: Any, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "in.txt"
    good = sentences(40)
    source.write_bytes("\n".join(good[:30]).encode() + b"\nbad \xff byte\n" + "\n".join(good[30:]).encode())
    with pytest.raises(Exception, match="line 31"):
        run_job(job(tmp_path, source), model=tiny_classifier)
    assert (tmp_path / "out.jsonl.state.json").exists()
    with pytest.raises(JobError, match="--resume"):
        run_job(job(tmp_path, source), model=tiny_classifier)
    source.write_text("\n".join(good) + "\n", encoding="utf-8")  # the user fixes the file
    with caplog.at_level("WARNING", logger="kontak_nlp"):
        summary = run_job(job(tmp_path, source), model=tiny_classifier)
    assert "read a different version of the input; starting over" in caplog.text
    assert summary.rows_written == 40 and len(read_output(tmp_path / "out.jsonl")) == 40
    assert not list(tmp_path.glob("out.jsonl.*"))
