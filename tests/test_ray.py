"""The Ray Data engine gives the single-process job's rows, on a local 2-CPU Ray instance (loopback only)."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kontak_nlp.inference import RuntimeOptions
from kontak_nlp.integrations import _ray_io
from kontak_nlp.integrations.ray import classify_dataset, run_ray_job
from kontak_nlp.jobs import JobConfig, JobError, run_job


def _has_ray() -> bool:
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False


NO_RAY = "Ray Data is not installed (pip install 'kontak-nlp[ray]')"
needs_ray = pytest.mark.skipif(not _has_ray(), reason=NO_RAY)

WORDS = "menteri luar negeri bertemu membahas sepakat menegaskan mendesak the minister met talks".split()
ARTICLES = [
    "Menlu RI Terima Dubes Jepang\nJAKARTA - Menteri luar negeri bertemu di Jakarta pada Senin. "
    "Mereka membahas perang.\nBaca juga: Menlu ke Tokyo\nThe minister said talks will continue.",
    "The minister met his counterpart in Tokyo. He urged talks since the war.",
    'Menteri mendesak sanksi. "Perang harus berhenti," kata menteri.\n\nBaca juga: Sanksi baru',
]


@pytest.fixture(scope="module")
def local_ray(request: pytest.FixtureRequest) -> Any:
    """A local Ray instance: 2 CPUs, 200 MB object store, no dashboard, bound to 127.0.0.1."""
    if not _has_ray():
        pytest.skip(NO_RAY)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    ray.init(
        num_cpus=2, object_store_memory=200 * 1024**2, include_dashboard=False, log_to_driver=False,
        _node_ip_address="127.0.0.1",
    )  # fmt: skip
    request.addfinalizer(ray.shutdown)
    ray.data.DataContext.get_current().enable_progress_bars = False
    return ray


def sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(2, 40))) + "." for _ in range(n)]


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a file or of a directory of part files (JSONL or Parquet)."""
    files = sorted(p for p in path.iterdir() if not p.name.startswith("_")) if path.is_dir() else [path]
    rows: list[dict[str, Any]] = []
    for file in files:
        if file.suffix == ".parquet":
            rows += pq.read_table(file).to_pylist()
        else:
            rows += [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line]
    return rows


def assert_same_rows(got: list[dict], want: list[dict], key: Any) -> None:
    """Same rows (same columns and values) in ``key`` order; float columns within 1e-5."""
    got, want = sorted(got, key=key), sorted(want, key=key)
    assert len(got) == len(want)
    for mine, theirs in zip(got, want):
        assert list(mine) == list(theirs)
        for name, value in theirs.items():
            if isinstance(value, float):
                assert mine[name] == pytest.approx(value, abs=1e-5), (name, mine, theirs)
            else:
                assert mine[name] == value, (name, mine, theirs)


def single_process(tmp_path: Path, source: Path, name: str, **kwargs: Any) -> tuple[list[dict], Any]:
    out = tmp_path / name
    summary = run_job(JobConfig(source, out, options=RuntimeOptions(device="cpu"), progress=False, **kwargs))
    return read_rows(out), summary


@needs_ray
def test_parquet_rows_match_single_process(
    local_ray: Any, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = sentences(2400)
    source = tmp_path / "sentences.parquet"
    ids = [f"s{i}" for i in range(len(texts))]
    pq.write_table(pa.table({"id": ids, "text": texts}), source, row_group_size=300)
    monkeypatch.setattr(_ray_io, "SLICE_ROWS", 600)  # 4 read tasks, each numbering its own rows
    want, _ = single_process(tmp_path, source, "ref.parquet", model=str(tiny_model_dir), all_scores=True)

    out = tmp_path / "ray.parquet"
    summary = run_ray_job(
        source, out, model=str(tiny_model_dir), num_workers=2, cpus_per_worker=0.5, batch_size=256,
        all_scores=True, progress=False,
    )  # fmt: skip
    got = read_rows(out)
    assert_same_rows(got, want, key=lambda row: row["row"])
    assert [row["id"] for row in sorted(got, key=lambda row: row["row"])] == ids
    assert (summary.rows_read, summary.rows_written, summary.rows_errored) == (2400, 2400, 0)
    assert (out / "_SUCCESS").exists()


@needs_ray
def test_jsonl_directory_numbers_rows_across_files_and_marks_bad_rows(
    local_ray: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    lines = [json.dumps({"id": i, "text": t}) for i, t in enumerate(sentences(300, seed=1))]
    lines[7] = json.dumps({"id": 7, "text": ""})
    lines[150] = json.dumps({"id": 150, "text": None})
    lines[151] = "not json"
    lines[200] = ""  # blank lines are not rows
    (tmp_path / "all.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.jsonl").write_text("\n".join(lines[:120]) + "\n", encoding="utf-8")
    (folder / "b.jsonl").write_text("\n".join(lines[120:]) + "\n", encoding="utf-8")
    options = {"on_error": "mark", "with_text": True}
    want, ref = single_process(
        tmp_path, tmp_path / "all.jsonl", "ref.jsonl", model=str(tiny_model_dir), **options
    )

    summary = run_ray_job(folder, tmp_path / "ray.jsonl", model=str(tiny_model_dir), **options)
    assert_same_rows(read_rows(tmp_path / "ray.jsonl"), want, key=lambda row: row["row"])
    assert (summary.rows_read, summary.rows_written, summary.rows_errored) == (299, 299, 3)
    assert (ref.rows_read, ref.rows_errored) == (299, 3)


@needs_ray
def test_articles_explode_into_sentences_with_offsets(
    local_ray: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "articles.jsonl"
    records = [{"id": f"a{i}", "text": text} for i, text in enumerate([*ARTICLES, "  "])]
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    options = {"articles": True, "on_error": "skip", "all_scores": True}
    want, _ = single_process(tmp_path, source, "ref.jsonl", model=str(tiny_model_dir), **options)
    assert any(row["boilerplate"] for row in want) and len({row["article_id"] for row in want}) == 3

    def key(row: dict) -> tuple:
        return row["article_id"], row["sentence_index"]

    summary = run_ray_job(source, tmp_path / "ray.jsonl", model=str(tiny_model_dir), **options)
    assert_same_rows(read_rows(tmp_path / "ray.jsonl"), want, key=key)
    assert (summary.rows_read, summary.rows_written, summary.rows_errored) == (4, 3, 1)
    assert summary.boilerplate_rows == sum(row["boilerplate"] for row in want)

    ds = local_ray.data.from_items([{"doc": r["id"], "body": r["text"]} for r in records[:3]])
    out = classify_dataset(
        ds, str(tiny_model_dir), text_column="body", id_column="doc", keep_columns=(), articles=True,
        all_scores=True, batch_format="numpy", batch_size=2,
    ).take_all()  # fmt: skip
    assert_same_rows(out, want, key=key)
    for row in out:
        article = ARTICLES[int(row["article_id"][1:])]
        assert 0 <= row["start"] < row["end"] <= len(article)


@needs_ray
def test_classify_dataset_keeps_the_input_columns(local_ray: Any, tiny_model_dir: Path) -> None:
    rows = [{"doc": f"d{i}", "lang": "id", "text": t} for i, t in enumerate(sentences(20, seed=3))]
    ds = local_ray.data.from_items(rows)
    model = str(tiny_model_dir)
    out = sorted(classify_dataset(ds, model).take_all(), key=lambda row: row["doc"])
    assert [list(row) for row in out] == [["doc", "lang", "text", "label", "score"]] * 20
    assert [(row["doc"], row["text"]) for row in out] == sorted((r["doc"], r["text"]) for r in rows)
    narrow = classify_dataset(ds, model, id_column="doc", keep_columns=["lang"]).take_all()
    assert {tuple(row) for row in narrow} == {("lang", "id", "label", "score")}
    articles = local_ray.data.from_items([{"doc": "a0", "src": "x", "text": ARTICLES[0]}])
    units = classify_dataset(articles, model, id_column="doc", articles=True).take_all()
    assert {tuple(row)[:3] for row in units} == {("doc", "src", "article_id")}  # not the article text
    clash = local_ray.data.from_items([{"text": "menteri bertemu.", "label": "gold"}])
    with pytest.raises(Exception, match="overwritten by the output columns"):
        classify_dataset(clash, model).take_all()
    assert classify_dataset(clash, model, keep_columns=()).take_all()[0]["label"] != "gold"


@needs_ray
def test_existing_output_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "labels.parquet"
    out.mkdir()
    (out / "part-0.parquet").write_bytes(b"")
    with pytest.raises(JobError, match="--force"):
        run_ray_job(tmp_path / "missing.parquet", out, address="never-used")


def test_importing_kontak_nlp_does_not_import_ray() -> None:
    code = (
        "import sys, kontak_nlp, kontak_nlp.integrations, kontak_nlp.integrations.ray\n"
        "from kontak_nlp import classify, segment\n"
        "loaded = sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_missing_ray_says_how_to_install_it() -> None:
    code = (
        "import sys\n"
        "sys.modules['ray'] = None\n"
        "from kontak_nlp.integrations.ray import classify_dataset\n"
        "try:\n"
        "    classify_dataset(None)\n"
        "except ImportError as err:\n"
        "    assert \"pip install 'kontak-nlp[ray]'\" in str(err), err\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@needs_ray
def test_cli_arguments_run_the_same_job_on_ray(local_ray: Any, tiny_model_dir: Path, tmp_path: Path) -> None:
    from kontak_nlp.cli import build_parser
    from kontak_nlp.integrations.ray import run_from_args

    source = tmp_path / "sentences.parquet"
    pq.write_table(pa.table({"text": sentences(200, seed=2)}), source)
    want, _ = single_process(tmp_path, source, "ref.parquet", model=str(tiny_model_dir), with_text=True)
    argv = ["classify", str(source), "-o", str(tmp_path / "out.parquet"), "--model", str(tiny_model_dir)]
    args = build_parser().parse_args([*argv, "--with-text", "--chunk-size", "64"])
    for name, value in {"engine": "ray", "address": None, "num_workers": 1, "gpus_per_worker": 0.0}.items():
        setattr(args, name, getattr(args, name, value))  # until the command has the --engine options
    summary = run_from_args(args)
    assert_same_rows(read_rows(tmp_path / "out.parquet"), want, key=lambda row: row["row"])
    assert summary.line().startswith("kontak-nlp classify: 200 rows read, 200 written, 0 errored")


@needs_ray
def test_every_entry_point_gives_the_same_labels_with_default_options(
    local_ray: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """classify(), Classifier.predict, `kontak-nlp classify` and classify_dataset() on Ray, all with
    their default options, label the same 500 sentences alike."""
    import kontak_nlp
    from kontak_nlp import Classifier
    from kontak_nlp.api import clear_cache
    from kontak_nlp.cli import main

    texts = sentences(500, seed=7)
    model = str(tiny_model_dir)
    clear_cache()
    api = [p.label for p in kontak_nlp.classify(texts, model=model)]
    assert len(set(api)) > 1  # the sentences really get different labels
    assert Classifier.from_pretrained(model).predict(texts) == api

    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    assert main(["classify", str(source), "-o", str(out), "--model", model, "--quiet"]) == 0
    assert [row["label"] for row in read_rows(out)] == api

    ds = local_ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
    rows = classify_dataset(ds, model, id_column="i").take_all()
    assert [row["label"] for row in sorted(rows, key=lambda row: row["id"])] == api
