"""Property tests (hypothesis): arbitrary Unicode, control characters, lone surrogates and huge
strings through ``segment()``, ``classify()`` on the tiny model and the batch job's readers.

Whatever the text: no crash, one output per input, exact offsets; a text that cannot be used (a
lone surrogate) is named by its position, or follows ``--on-error`` in a job.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kontak_nlp import segment
from kontak_nlp.errors import InputError
from kontak_nlp.jobs import JobConfig, run_job
from kontak_nlp.jobs.readers import open_reader
from kontak_nlp.text.markup import reduce_markup

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SURROGATE = re.compile("[\ud800-\udfff]")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Any code point: control characters, format characters, private use, surrogates (rarely).
any_text = st.text(st.characters(exclude_categories=()), max_size=200)
#: A text with at least one lone surrogate somewhere.
with_surrogate = st.builds(lambda a, s, b: a + s + b, any_text, st.characters(categories=["Cs"]), any_text)
#: Long texts: a random piece repeated up to 200k characters.
huge_text = st.builds(
    lambda piece, n: (piece * n)[:200_000], st.text(min_size=1, max_size=40), st.integers(1, 8000)
)
texts = st.one_of(any_text, any_text, with_surrogate, huge_text)
#: Typical news-like words mixed with anything, so that sentence splitting is exercised.
newsy = st.lists(
    st.one_of(
        st.sampled_from(["Menlu", "bertemu.", "Dubes", "dr.", "U.S.", "\n", "\n\n", " ", "?!", "»"]), any_text
    ),
    max_size=40,
).map("".join)


@FAST
@given(st.one_of(texts, newsy))
def test_segment_offsets_are_exact_for_any_text(text: str) -> None:
    seg = segment(text)
    text = seg.text  # the input itself, unless it was an HTML page (then its extracted text)
    previous_end = 0
    for index, unit in enumerate(seg.units):
        assert unit.index == index
        assert reduce_markup(text[unit.start : unit.end]) == unit.text  # markdown syntax reduced
        assert previous_end <= unit.start < unit.end <= len(text)
        previous_end = unit.end


def first_surrogate(batch: list[str]) -> int | None:
    return next((i for i, text in enumerate(batch) if SURROGATE.search(text)), None)


@FAST
@given(st.lists(texts, min_size=1, max_size=6))
def test_classify_gives_one_prediction_per_text_or_names_the_bad_one(
    _tiny_classifier_session: Any, batch: list[str]
) -> None:
    clf = _tiny_classifier_session
    bad = first_surrogate(batch)
    if bad is not None:
        with pytest.raises(InputError, match=f"position {bad} has an unpaired surrogate") as info:
            clf.classify(batch)
        assert info.value.position == bad
        return
    predictions = clf.classify(batch, batch_size=4)
    assert [p.text for p in predictions] == batch
    assert all(p.label in clf.labels and 0.0 <= p.score <= 1.0 for p in predictions)
    assert np.allclose(clf.predict_proba(batch).sum(axis=1), 1.0, atol=1e-5)


class FakeModel:
    """Scores from the text length: enough to check which row got which output."""

    labels = ["short", "long"]
    source = "fake-model"

    def predict_proba(self, batch: list[str], **kwargs: Any) -> np.ndarray:
        long = np.array([len(text) > 20 for text in batch], dtype=float)
        return np.stack([1.0 - long * 0.8 - 0.1, long * 0.8 + 0.1], axis=1)


def write_input(path: Path, rows: list[str]) -> None:
    if path.suffix == ".jsonl":  # json.dumps escapes lone surrogates as \\udXXX
        path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(rows)), "ascii")
    else:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "text"])
            writer.writerows([i, t] for i, t in enumerate(rows))


def csv_safe(text: str) -> str:
    """CSV files are UTF-8 text: no NUL (the reader refuses binary files) and no lone surrogates."""
    return SURROGATE.sub("?", text).replace("\x00", "")


@FAST
@given(st.lists(texts, max_size=12), st.sampled_from([".jsonl", ".csv"]))
def test_the_job_reader_and_runner_keep_every_row(rows: list[str], suffix: str) -> None:
    if suffix == ".csv":
        rows = [csv_safe(text) for text in rows]
    else:  # JSON joins an escaped high+low surrogate pair into one character, as every JSON reader does
        rows = [json.loads(json.dumps(text)) for text in rows]
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / f"in{suffix}", Path(tmp) / "out.jsonl"
        write_input(source, rows)
        reader = open_reader(source)
        try:
            records = list(reader)
        finally:
            reader.close()
        assert [r.text for r in records] == rows
        assert [str(r.id) for r in records] == [str(i) for i in range(len(rows))]
        summary = run_job(JobConfig(source, out, on_error="mark", with_text=True), model=FakeModel())
        lines = out.read_bytes().split(b"\n")[:-1]  # JSONL lines end at \n only (not at U+0085, U+2028)
        written = [json.loads(line) for line in lines]
    assert summary.rows_read == summary.rows_written == len(rows) == len(written)
    assert [w["row"] for w in written] == list(range(len(rows)))
    for text, row in zip(rows, written):
        usable = text.strip() and not SURROGATE.search(text)
        assert (row["label"] is not None) == bool(usable), (text, row)
        assert row["text"] == (None if SURROGATE.search(text) else text)
