"""Refitting a trained model's temperature on held-out data (``kontak-nlp calibrate``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kontak_nlp import Classifier, TrainConfig
from kontak_nlp.cli import main
from kontak_nlp.errors import DataError
from kontak_nlp.inference.batching import softmax
from kontak_nlp.training.model_card import write_model_card
from kontak_nlp.training.recalibrate import recalibrate

TEXTS = [
    f"Menteri {w} bertemu duta {v} di kota {i}."
    for i, (w, v) in enumerate(
        (w, v)
        for w in ("luar", "negeri", "pertahanan", "dagang", "agama", "desa")
        for v in ("besar", "muda", "tua", "baru", "lama", "kecil", "jauh", "dekat")
    )
]


@pytest.fixture
def model_dir(tiny_model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def _held_out(model_dir: Path, path: Path) -> list[dict[str, str]]:
    """Rows the model gets right three times in four: a fit with a finite temperature."""
    clf = Classifier.from_pretrained(model_dir, device="cpu")
    predicted = np.asarray(clf.predict_logits(TEXTS)).argmax(axis=1)
    gold = np.where(np.arange(len(TEXTS)) % 4 == 0, (predicted + 1) % 4, predicted)
    rows = [{"text": t, "label": clf.labels[g]} for t, g in zip(TEXTS, gold)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return rows


def test_recalibrate_stores_the_fitted_temperature_and_keeps_the_labels(
    model_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "heldout.jsonl"
    _held_out(model_dir, data)
    before = Classifier.from_pretrained(model_dir, device="cpu")
    logits = np.asarray(before.predict_logits(TEXTS))

    result = recalibrate(model_dir, data)

    assert result.n_rows == len(TEXTS) and result.old_temperature == before.temperature
    assert 0.05 < result.temperature < 20 and result.temperature != pytest.approx(before.temperature)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    assert config["calibration_temperature"] == result.temperature
    assert str(data) in config["calibration_source"]
    after = Classifier.from_pretrained(model_dir, device="cpu")  # checksums still verify
    np.testing.assert_allclose(after.predict_proba(TEXTS), softmax(logits, result.temperature), atol=1e-5)
    assert after.predict(TEXTS) == before.predict(TEXTS)
    card = write_model_card(model_dir, TrainConfig(), after.labels).read_text(encoding="utf-8")
    assert f"temperature-calibrated (T = {result.temperature:.3f}) on {data}" in card


def test_recalibrate_refuses_unknown_labels_and_too_few_rows(model_dir: Path, tmp_path: Path) -> None:
    rows = _held_out(model_dir, tmp_path / "heldout.jsonl")
    with pytest.raises(
        DataError, match=r"label\(s\) \['protest'\] are not in the label set .* \(first at row 3\)"
    ):
        recalibrate(model_dir, rows[:3] + [{"text": "Demo.", "label": "protest"}] + rows[4:])
    with pytest.raises(DataError, match="fewer than min_calibration_rows=40"):
        recalibrate(model_dir, rows[:20])
    with pytest.raises(DataError, match=r"column\(s\) \['label'\] not found"):
        recalibrate(model_dir, [{"text": t} for t in TEXTS])
    assert "calibration_source" not in json.loads((model_dir / "config.json").read_text(encoding="utf-8"))


def test_calibrate_command(model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "heldout.jsonl"
    _held_out(model_dir, data)
    assert main(["calibrate", "--model", str(model_dir), "--data", str(data)]) == 0
    assert "temperature" in capsys.readouterr().out
    assert main(["calibrate", "--model", str(model_dir), "--data", str(data), "--min-rows", "100"]) == 4
