"""training/apply_label_prior.py: the real-news prior folded into a trained model's head bias."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from kontak_nlp import Classifier

TRAINING = Path(__file__).resolve().parents[1] / "training"
sys.path.insert(0, str(TRAINING))

from apply_label_prior import REAL_SHARES, apply_prior, train_shares  # noqa: E402

TEXTS = ["Menteri luar negeri bertemu duta besar.", "Kami menolak tuduhan itu.", "Perang pecah pada 2023."]


@pytest.fixture
def model_dir(tiny_model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def _expected(proba: np.ndarray, labels: list[str], prior: dict[str, float]) -> np.ndarray:
    weighted = proba * np.array([prior[label] for label in labels])
    return weighted / weighted.sum(axis=1, keepdims=True)


def test_prior_is_the_bayes_correction_and_is_applied_once(model_dir: Path) -> None:
    before = Classifier.from_pretrained(model_dir, device="cpu")
    proba = np.asarray(before.predict_proba(TEXTS))

    assert apply_prior(model_dir)

    after = Classifier.from_pretrained(model_dir, device="cpu")  # checksums were refreshed
    expected = _expected(proba, before.labels, REAL_SHARES)
    np.testing.assert_allclose(after.predict_proba(TEXTS), expected, atol=1e-5)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    assert config["label_prior"] == {label: REAL_SHARES[label] for label in before.labels}
    with pytest.raises(SystemExit, match="already applied"):
        apply_prior(model_dir)


def test_trained_shares_are_divided_out(model_dir: Path, tmp_path: Path) -> None:
    before = Classifier.from_pretrained(model_dir, device="cpu")
    proba = np.asarray(before.predict_proba(TEXTS))
    labels = before.labels
    sentences = [{"text": "x", "label": label} for label in labels for _ in range(labels.index(label) + 1)]
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"id": "a", "split": "train", "sentences": sentences},
        {"id": "b", "split": "test", "sentences": sentences[:1]},
    ]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    trained = train_shares(corpus)
    assert trained == {label: (i + 1) / 10 for i, label in enumerate(labels)}  # test split not counted
    apply_prior(model_dir, trained=trained)

    ratio = {label: REAL_SHARES[label] / trained[label] for label in labels}
    got = Classifier.from_pretrained(model_dir, device="cpu").predict_proba(TEXTS)
    np.testing.assert_allclose(got, _expected(proba, labels, ratio), atol=1e-5)
    assert math.isclose(sum(trained.values()), 1.0)


def test_a_label_missing_from_the_trained_shares_is_refused_before_any_write(model_dir: Path) -> None:
    labels = Classifier.from_pretrained(model_dir, device="cpu").labels
    files = {f.name: f.read_bytes() for f in model_dir.iterdir() if f.is_file()}
    with pytest.raises(SystemExit, match=rf"no training share for label\(s\) \['{labels[-1]}'\]"):
        apply_prior(model_dir, trained={label: 0.25 for label in labels[:-1]})
    assert {f.name: f.read_bytes() for f in model_dir.iterdir() if f.is_file()} == files
