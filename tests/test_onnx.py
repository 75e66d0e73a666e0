"""ONNX Runtime backend: agreement with torch (fp32 exact, int8 reported), export cache, jobs on ONNX."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from kontak_nlp import Classifier
from kontak_nlp.inference import RuntimeOptions, load_model
from kontak_nlp.inference.onnx import export as _export
from kontak_nlp.inference.onnx.backend import OnnxClassifier
from kontak_nlp.inference.recheck import RecheckStats, top2_margin
from kontak_nlp.jobs import JobConfig, run_job

pytest.importorskip("onnxruntime")

WORDS = "menteri luar negeri bertemu membahas sepakat mendesak harus perang sanksi the minister met".split()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module", autouse=True)
def onnx_home(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Exports go to ``$KONTAK_NLP_HOME/onnx``: a temporary home for this module."""
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("home")
        patch.setenv("KONTAK_NLP_HOME", str(home))
        yield home


def exported(model_dir: Path, quantize: str | None = None) -> Path:
    checksum = _export.model_checksum(model_dir)
    return _export.cache_dir(model_dir, checksum) / _export.onnx_file_name(checksum, 17, quantize)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT whose tokenizer knows real words (so predictions vary with the text)."""
    from _tiny import write_vocab
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from kontak_nlp import DEFAULT_LABELS

    directory = tmp_path_factory.mktemp("onnx") / "model"
    directory.mkdir()
    vocab = str(write_vocab(directory))
    tokenizer = BertTokenizerFast(vocab_file=vocab, vocab=vocab, model_max_length=64)
    torch.manual_seed(1)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=37, max_position_embeddings=64, initializer_range=0.5, num_labels=4,
        id2label=dict(enumerate(DEFAULT_LABELS)), label2id={n: i for i, n in enumerate(DEFAULT_LABELS)},
    )  # fmt: skip
    Classifier(BertForSequenceClassification(config), tokenizer, device="cpu").save_pretrained(directory)
    return directory


def onnx(**changes: Any) -> RuntimeOptions:
    """CPU ONNX options with one thread, plus ``changes``."""
    return RuntimeOptions(device="cpu", backend="onnx", threads=1).replace(**changes)


def texts(n: int = 200, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(1, 40))) for _ in range(n)]


@pytest.fixture(scope="module")
def torch_reference(model_dir: Path) -> tuple[Classifier, np.ndarray]:
    clf = Classifier.from_pretrained(model_dir, device="cpu", precision="fp32")
    return clf, clf.predict_logits(texts(), batch_size=16)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float((a.argmax(axis=1) == b.argmax(axis=1)).mean())


def test_onnx_fp32_matches_torch(model_dir: Path, torch_reference: Any) -> None:
    clf, logits = torch_reference
    model = load_model(model_dir, onnx())
    assert isinstance(model, OnnxClassifier)
    got = model.predict_logits(texts(), batch_size=16)
    assert len(set(logits.argmax(axis=1).tolist())) > 1  # the texts really get different labels
    np.testing.assert_allclose(got, logits, atol=1e-4)
    assert agreement(got, logits) == 1.0
    assert model.labels == clf.labels
    assert model.predict(texts()[:5]) == clf.predict(texts()[:5])
    prediction = model.classify("menteri bertemu", top_k=2)[0]
    assert len(prediction.scores) == 2 and prediction.label == clf.classify("menteri bertemu")[0].label


def test_int8_agreement_is_reported(model_dir: Path, torch_reference: Any, record_property: Any) -> None:
    _, logits = torch_reference
    onnx_int8 = load_model(model_dir, onnx(quantize="int8", recheck_margin=0))
    assert onnx_int8.precision == "int8" and onnx_int8.recheck_with is None
    rate = agreement(onnx_int8.predict_logits(texts(), batch_size=16), logits)
    record_property("int8_label_agreement", rate)
    print(f"int8 label agreement with torch fp32 on a random tiny model: {rate}")
    assert rate >= 0.5  # a random tiny model has small margins; real models: >= 0.99


def test_int8_recheck_recomputes_exactly_the_near_ties(model_dir: Path, torch_reference: Any) -> None:
    _, fp32 = torch_reference
    raw_model = load_model(model_dir, onnx(quantize="int8", recheck_margin=0))
    raw = raw_model.predict_logits(texts(), batch_size=16)
    margin = float(np.median(top2_margin(raw)))  # about half the rows fall below it
    model = load_model(model_dir, onnx(quantize="int8", recheck_margin=margin))
    got = model.predict_logits(texts(), batch_size=16)
    near = top2_margin(raw) < margin
    assert 0 < near.sum() < len(near)
    assert model.recheck_stats == RecheckStats(rows=len(near), rechecked=int(near.sum()))
    np.testing.assert_allclose(got[near], fp32[near], atol=1e-4)  # the fp32 twin's logits
    np.testing.assert_array_equal(got[~near], raw[~near])  # the int8 logits, untouched
    everything = load_model(model_dir, onnx(quantize="int8", recheck_margin=1e9))
    assert agreement(everything.predict_logits(texts(), batch_size=16), fp32) == 1.0


def test_recheck_margin_is_validated_and_reported_by_jobs(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="recheck_margin"):
        onnx(quantize="int8", recheck_margin=-1.0)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts(60)), encoding="utf-8")
    config = JobConfig(
        source, tmp_path / "out.jsonl", model=model_dir, options=onnx(quantize="int8", recheck_margin=1e9)
    )
    summary = run_job(config)
    assert summary.rechecked == 60 and "60 int8 near-ties recomputed in fp32" in summary.line()
    fp32 = run_job(JobConfig(source, tmp_path / "fp32.jsonl", model=model_dir, options=onnx()))
    assert fp32.rechecked is None
    labels = [
        [json.loads(line)["label"] for line in (tmp_path / name).read_text().splitlines()]
        for name in ("out.jsonl", "fp32.jsonl")
    ]
    assert len(labels[0]) == 60 and labels[0] == labels[1]  # every row rechecked: the fp32 labels


def test_cli_recheck_margin_option(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kontak_nlp.cli import main

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts(20)), encoding="utf-8")
    base = ["classify", str(source), "--model", str(model_dir), "--backend", "onnx", "--quantize", "int8"]
    base += ["--num-threads", "1", "--quiet"]
    assert main([*base, "-o", str(tmp_path / "a.jsonl"), "--recheck-margin", "1e9"]) == 0
    assert "20 int8 near-ties recomputed in fp32" in capsys.readouterr().err
    assert main([*base, "-o", str(tmp_path / "b.jsonl"), "--recheck-margin", "0"]) == 0
    assert "recomputed" not in capsys.readouterr().err


def test_export_is_cached_by_checksum_and_opset(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_model(model_dir, onnx())
    cached = exported(model_dir)
    assert cached.exists()
    monkeypatch.setattr(_export, "export_onnx", lambda *a, **k: pytest.fail("exported twice"))
    load_model(model_dir, onnx())
    assert not list(cached.parent.glob(".*tmp*"))


def test_exports_go_to_the_home_cache_never_into_the_model_dir(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    copy = tmp_path / "model-copy"
    shutil.copytree(model_dir, copy)
    monkeypatch.setenv("KONTAK_NLP_HOME", str(tmp_path / "home"))
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="kontak_nlp"):
        _export.ensure_onnx(copy, quantize="int8")
    checksum = _export.model_checksum(copy)
    assert (
        tmp_path / "home" / "onnx" / checksum[:16] / _export.onnx_file_name(checksum, 17, "int8")
    ).exists()
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in model_dir.iterdir())
    steps = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ONNX export")]
    assert [m[:15] for m in steps if "done in" in m] == [f"ONNX export {i}/4" for i in range(1, 5)]
    assert not [r for r in caplog.records if r.name == "root"]  # ONNX Runtime's quantizer chatter


def test_job_on_the_onnx_backend_agrees_with_torch(model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts(60)), encoding="utf-8")
    outputs = {}
    for backend in ("torch", "onnx"):
        out = tmp_path / f"{backend}.jsonl"
        options = RuntimeOptions(device="cpu", backend=backend, threads=1)
        config = JobConfig(source, out, model=model_dir, options=options)
        summary = run_job(config)
        assert summary.backend == backend and summary.rows_written == 60
        outputs[backend] = [json.loads(line)["label"] for line in out.read_text().splitlines()]
    assert outputs["onnx"] == outputs["torch"]


def test_smoothing_keeps_the_function_and_leaves_the_model_alone(torch_reference: Any) -> None:
    from kontak_nlp.inference.onnx.smooth import SmoothedLinear, ffn_down_modules, smoothed_copy

    clf, want = torch_reference
    before = {k: v.clone() for k, v in clf.model.state_dict().items()}
    assert sorted(ffn_down_modules(clf.model)) == [
        "bert.encoder.layer.0.output.dense", "bert.encoder.layer.1.output.dense",
    ]  # fmt: skip
    smoothed = smoothed_copy(clf.model, clf.tokenizer, texts(64, seed=5))
    layers = smoothed.bert.encoder.layer
    assert all(isinstance(layer.output.dense, SmoothedLinear) for layer in layers)
    scale = 1.0 / layers[0].output.dense.inv_scale
    assert float(scale.max() / scale.min()) > 1.5  # real per-channel scales, not ones
    twin = Classifier(smoothed, clf.tokenizer, device="cpu")
    np.testing.assert_allclose(twin.predict_logits(texts(), batch_size=16), want, atol=1e-4, rtol=1e-4)
    after = clf.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_int8_cache_name_names_the_recipe(model_dir: Path) -> None:
    path = _export.ensure_onnx(model_dir, quantize="int8")
    assert path.name.endswith(f"-int8-{_export.INT8_RECIPE}.onnx")
    assert not list(path.parent.glob(".smoothed-*"))  # the temporary fp32 export is gone
    with pytest.raises(ValueError, match="quantize="):
        _export.ensure_onnx(model_dir, quantize="int4")


def test_int8_quantizes_encoder_products_only(model_dir: Path) -> None:
    load_model(model_dir, onnx())
    names = _export.encoder_weight_nodes(exported(model_dir))
    assert len(names) == 2 * 6  # 2 layers x (Q, K, V, attention output, FFN up, FFN down)
    assert not [n for n in names if "pooler" in n or "classifier" in n]
