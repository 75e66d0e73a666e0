from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kontak_nlp
from kontak_nlp import Classifier, InputError, ModelLoadError, Prediction

TEXTS = [
    "Menteri luar negeri Jepang bertemu di Tokyo pada Senin.",
    "Perang.",
    "Jakarta mendesak Tokyo untuk menuntut sanksi, kata menteri luar negeri, sejak senin dan pada perang.",
    "The minister met talks",
    "sepakat",
    "Kata menteri: harus!",
]


def assert_valid_predictions(model: Classifier, texts: list[str]) -> None:
    """sklearn check_predictions-style invariants."""
    proba = model.predict_proba(texts)
    assert proba.shape == (len(texts), len(model.labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    predicted = model.predict(texts)
    assert predicted == [model.labels[i] for i in proba.argmax(axis=1)]
    assert set(predicted) <= set(model.classes_)
    assert list(model.classes_) == model.labels


def test_invariants(tiny_classifier: Classifier) -> None:
    assert_valid_predictions(tiny_classifier, TEXTS)
    assert tiny_classifier.labels == list(kontak_nlp.DEFAULT_LABELS)


def test_order_is_preserved_for_shuffled_lengths(tiny_classifier: Classifier) -> None:
    rng = np.random.default_rng(0)
    texts = [" ".join(["menteri"] * int(n)) + f" {i}" for i, n in enumerate(rng.integers(1, 40, 37))]
    batched = tiny_classifier.predict_logits(texts, batch_size=4)
    one_by_one = np.vstack([tiny_classifier.predict_logits([t]) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    assert len({tuple(np.round(r, 4)) for r in batched}) > 1, (
        "outputs must differ for the test to mean anything"
    )


def test_classify_shapes(tiny_classifier: Classifier) -> None:
    single = kontak_nlp.classify(TEXTS[0], model=tiny_classifier)
    assert isinstance(single, Prediction) and single.text == TEXTS[0]
    assert set(single.scores) == set(tiny_classifier.labels)
    assert single.score == max(single.scores.values())
    many = kontak_nlp.classify(iter(TEXTS), model=tiny_classifier, top_k=2)
    assert [p.text for p in many] == TEXTS
    assert all(len(p.scores) == 2 and list(p.scores.values())[0] >= list(p.scores.values())[1] for p in many)
    assert kontak_nlp.classify([], model=tiny_classifier) == []


def test_classify_series_returns_frame_with_same_index(tiny_classifier: Classifier) -> None:
    series = pd.Series(TEXTS[:3], index=["a", "b", "c"])
    frame = kontak_nlp.classify(series, model=tiny_classifier)
    assert list(frame.index) == ["a", "b", "c"]
    assert list(frame["text"]) == TEXTS[:3]
    assert set(frame["label"]) <= set(tiny_classifier.labels)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (["ok", None], "position 1 is None"),
        (["ok", "ok", b"bytes"], "position 2 is bytes"),
        ([3.0], "position 0 has type float"),
        (pd.Series(["ok", math.nan], index=[10, 11]), "index 11 is NaN"),
        (None, "texts is None"),
        (b"raw", "bytes"),
        (42, "type int"),
    ],
)
def test_bad_input_names_the_position(tiny_classifier: Classifier, bad: object, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        kontak_nlp.classify(bad, model=tiny_classifier)


def test_documented_edge_inputs(tiny_classifier: Classifier, caplog: pytest.LogCaptureFixture) -> None:
    texts = ["", "   \n\t", "emoji 🇮🇩🤝 dan 中文 العربية", "ctrl\x00\x07chars", "menteri " * 200_000]
    with caplog.at_level(logging.WARNING, logger="kontak_nlp"):
        predictions = tiny_classifier.classify(texts)
    assert len(predictions) == len(texts)
    assert [p.text for p in predictions] == texts
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "empty or whitespace-only" in messages
    assert "truncated" in messages
    assert sum("truncated" in r.getMessage() for r in caplog.records) == 1


def test_save_load_roundtrip_and_plain_pipeline(tiny_classifier: Classifier, tmp_path: Path) -> None:
    from transformers import pipeline

    out = tiny_classifier.save_pretrained(tmp_path / "saved")
    reloaded = Classifier.from_pretrained(out, device="cpu")
    np.testing.assert_allclose(reloaded.predict_proba(TEXTS), tiny_classifier.predict_proba(TEXTS), atol=1e-6)
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {str(i): name for i, name in enumerate(tiny_classifier.labels)}
    pipe = pipeline("text-classification", model=str(out), device="cpu")
    assert [r["label"] for r in pipe(TEXTS)] == tiny_classifier.predict(TEXTS)


def test_temperature_from_config_calibrates_scores(tiny_classifier: Classifier) -> None:
    raw = tiny_classifier.predict_proba(TEXTS)
    tiny_classifier.model.config.calibration_temperature = 3.0
    softer = tiny_classifier.predict_proba(TEXTS)
    assert tiny_classifier.predict(TEXTS) == [tiny_classifier.labels[i] for i in raw.argmax(1)]
    assert (softer.max(axis=1) <= raw.max(axis=1) + 1e-6).all()
    np.testing.assert_allclose(tiny_classifier.predict_proba(TEXTS, calibrated=False), raw, atol=1e-6)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_broken_model_dirs_name_the_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        Classifier.from_pretrained(tmp_path / "nope")
    missing = _copy(tiny_model_dir, tmp_path / "missing")
    (missing / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        Classifier.from_pretrained(missing)
    truncated = _copy(tiny_model_dir, tmp_path / "truncated")
    (truncated / "checksums.json").unlink()
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        Classifier.from_pretrained(truncated)
    tampered = _copy(tiny_model_dir, tmp_path / "tampered")
    config = json.loads((tampered / "config.json").read_text())
    config["id2label"]["0"] = "renamed"
    (tampered / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="config.json: (size|sha256)"):
        Classifier.from_pretrained(tampered)
    broken_json = _copy(tiny_model_dir, tmp_path / "broken_json")
    (broken_json / "checksums.json").unlink()
    (broken_json / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="config.json"):
        Classifier.from_pretrained(broken_json)


def test_pickle_only_dir_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    pickled = _copy(tiny_model_dir, tmp_path / "pickled")
    (pickled / "checksums.json").unlink()
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="refuses to unpickle"):
        Classifier.from_pretrained(pickled)


def test_load_caches_models(tiny_model_dir: Path) -> None:
    from kontak_nlp.api import clear_cache

    clear_cache()
    first = kontak_nlp.load(tiny_model_dir, device="cpu")
    assert kontak_nlp.load(str(tiny_model_dir), device="cpu") is first
    predictions = kontak_nlp.classify(TEXTS, model=str(tiny_model_dir), device="cpu")
    assert [p.label for p in predictions] == first.predict(TEXTS)
    clear_cache()
