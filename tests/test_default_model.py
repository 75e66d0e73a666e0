"""The shipped default model: present, small, verified, and right on the acceptance sentence."""

from __future__ import annotations

import json

import pytest

import kontak_nlp
from kontak_nlp.api import DEFAULT_MODEL_DIR

pytestmark = pytest.mark.real_weights


def test_shipped_artifact_is_small_and_complete() -> None:
    files = {f.name: f.stat().st_size for f in DEFAULT_MODEL_DIR.iterdir() if f.is_file()}
    assert sum(files.values()) <= 25 * 1024 * 1024
    for name in (
        "config.json",
        "adapter_config.json",
        "adapter_model.safetensors",
        "README.md",
        "training_args.json",
        "labels.json",
        "eval_results.json",
        "checksums.json",
    ):
        assert name in files, name
    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(4)] == list(kontak_nlp.DEFAULT_LABELS)
    assert config["calibration_temperature"] > 0


def test_default_model_classifies_the_acceptance_sentence() -> None:
    sentence = "Menteri Luar Negeri Jepang bertemu mitranya dari Korea Selatan di Tokyo pada Senin."
    prediction = kontak_nlp.classify(sentence, device="cpu")
    assert prediction.label == "meeting_report"
    demand = kontak_nlp.classify(
        "Uni Eropa menuntut Minsk segera membebaskan para tahanan politik.", device="cpu"
    )
    assert demand.label == "demand"
    assert kontak_nlp.load(device="cpu") is kontak_nlp.load(device="cpu")
