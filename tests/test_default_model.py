"""The shipped default model: present, small, verified, and right on the acceptance sentence."""

from __future__ import annotations

import json

import pytest

import kontak_nlp
from kontak_nlp.inference.loader import DEFAULT_MODEL_DIR

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


def test_evaluate_command_defaults_to_the_shipped_model(tmp_path, capsys) -> None:  # noqa: ANN001
    from kontak_nlp.cli import main

    rows = [
        {
            "text": "Menteri Luar Negeri Jepang bertemu mitranya di Tokyo pada Senin.",
            "label": "meeting_report",
        },
        {"text": "Uni Eropa menuntut Minsk segera membebaskan para tahanan politik.", "label": "demand"},
    ]
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["evaluate", "--data", str(data), "--bootstrap", "10", "--device", "cpu"]) == 0
    assert "news4" in capsys.readouterr().out
