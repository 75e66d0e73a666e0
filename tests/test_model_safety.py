"""Model directories are data, never code (issue 19, part D): ``auto_map`` and custom model types
are refused before transformers reads them, nothing ever prompts on stdin, ``labels.json`` must
agree with ``config.json``, and cached ONNX graphs are used only when they match their checksum."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from kontak_nlp import Classifier, load
from kontak_nlp.cli import main
from kontak_nlp.errors import ModelLoadError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EVIL = """
from pathlib import Path
Path({marker!r}).write_text("code from the model directory ran")
from transformers import BertConfig, BertForSequenceClassification
class EvilConfig(BertConfig):
    model_type = "evil"
class EvilModel(BertForSequenceClassification):
    config_class = EvilConfig
"""


def code_carrying_copy(tiny_model_dir: Path, tmp_path: Path, variant: str) -> tuple[Path, Path]:
    """A copy of the tiny model whose config asks transformers to run ``evil.py``."""
    model, marker = Path(shutil.copytree(tiny_model_dir, tmp_path / variant)), tmp_path / f"{variant}.ran"
    (model / "evil.py").write_text(EVIL.format(marker=str(marker)))
    config = json.loads((model / "config.json").read_text())
    auto_map = {"AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.EvilModel"}
    if variant == "auto_map_no_type":
        config.pop("model_type")
        config["auto_map"] = auto_map
    elif variant == "auto_map_bert":
        config["auto_map"] = auto_map
    elif variant == "custom_type":
        config["model_type"] = "evil"
    else:  # tokenizer_auto_map
        tok = json.loads((model / "tokenizer_config.json").read_text())
        tok["auto_map"] = {"AutoTokenizer": ["evil.EvilTokenizer", None]}
        (model / "tokenizer_config.json").write_text(json.dumps(tok))
    (model / "config.json").write_text(json.dumps(config))
    (model / "checksums.json").unlink()  # so that only the no-code check can stop it
    return model, marker


def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.FileIO(read_fd, "rb"))))


VARIANTS = ["auto_map_no_type", "auto_map_bert", "custom_type", "tokenizer_auto_map"]
MESSAGES = {
    "auto_map_no_type": 'config.json: has "auto_map"',
    "auto_map_bert": 'config.json: has "auto_map"',
    "custom_type": "model_type 'evil' is not a built-in transformers architecture",
    "tokenizer_auto_map": 'tokenizer_config.json: has "auto_map"',
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_load_refuses_code_in_a_model_dir_even_with_yes_on_stdin(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: str
) -> None:
    model, marker = code_carrying_copy(tiny_model_dir, tmp_path, variant)
    feed_stdin(monkeypatch, b"y\nyes\n1\n")
    with pytest.raises(ModelLoadError, match=MESSAGES[variant]):
        load(str(model), device="cpu")
    with pytest.raises(ModelLoadError, match=MESSAGES[variant]):
        Classifier.from_pretrained(model, device="cpu")
    assert not marker.exists()
    assert sys.stdin.read() == "y\nyes\n1\n"  # nothing was read from stdin


@pytest.mark.parametrize("variant", ["auto_map_no_type", "custom_type"])
def test_cli_refuses_code_in_a_model_dir_when_the_data_says_yes(
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variant: str,
) -> None:
    model, marker = code_carrying_copy(tiny_model_dir, tmp_path, variant)
    feed_stdin(monkeypatch, b"y\nyes\n1\nMenteri bertemu.\n")
    assert main(["classify", "-", "--model", str(model), "--quiet"]) == 3
    assert MESSAGES[variant] in capsys.readouterr().err
    assert not marker.exists()


def test_labels_json_must_agree_with_config(tiny_model_dir: Path, tmp_path: Path) -> None:
    model = Path(shutil.copytree(tiny_model_dir, tmp_path / "swapped"))
    config = json.loads((model / "config.json").read_text())
    labels = [config["id2label"][str(i)] for i in range(4)]
    (model / "labels.json").write_text(json.dumps(labels))
    (model / "checksums.json").unlink()
    assert Classifier.from_pretrained(model, device="cpu").labels == labels
    (model / "labels.json").write_text(json.dumps([labels[1], labels[0], *labels[2:]]))
    with pytest.raises(ModelLoadError, match="labels.json: lists the labels .* but config.json's id2label"):
        Classifier.from_pretrained(model, device="cpu")


def test_a_planted_or_damaged_onnx_graph_is_exported_again(
    tiny_model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("onnxruntime")
    from kontak_nlp.inference.onnx import export as _export
    from kontak_nlp.inference.onnx.backend import OnnxClassifier

    model = Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))
    other = Path(shutil.copytree(tiny_model_dir, tmp_path / "other"))
    texts = ["Menteri luar negeri bertemu di Jakarta.", "The minister urged talks.", "Perang sejak senin."]
    reference = Classifier.from_pretrained(model, device="cpu").predict_proba(texts)
    graph = _export.ensure_onnx(model)
    assert _export.graph_matches_record(graph)
    assert json.loads(_export.graph_record(graph).read_text())["size"] == graph.stat().st_size

    def probabilities() -> Any:
        return OnnxClassifier.from_pretrained(model).predict_proba(texts)

    assert np.allclose(probabilities(), reference, atol=1e-5)
    # a planted graph: another model whose head always says "demand", under the same name
    clf = Classifier.from_pretrained(other, device="cpu")
    with torch.no_grad():
        clf.model.classifier.weight.zero_()
        clf.model.classifier.bias.copy_(torch.tensor([0.0, 0.0, 9.0, 0.0]))
    planted = _export.export_onnx(clf.model, clf.tokenizer, tmp_path / "planted.onnx")
    shutil.copyfile(planted, graph)
    assert not _export.graph_matches_record(graph)
    assert np.allclose(probabilities(), reference, atol=1e-5)
    assert "does not match its recorded sha256" in caplog.text
    # a damaged graph, and a graph whose record was removed
    graph.write_bytes(graph.read_bytes()[:-10])
    assert np.allclose(probabilities(), reference, atol=1e-5)
    _export.graph_record(graph).unlink()
    assert np.allclose(probabilities(), reference, atol=1e-5)
    assert _export.graph_matches_record(graph)
