from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from kontak_nlp import Classifier, TrainConfig, train
from kontak_nlp.errors import DataError

CUES = {
    "meeting_report": ["bertemu", "pertemuan", "membahas", "met", "talks"],
    "demand": ["mendesak", "menuntut", "harus", "urged"],
    "background": ["perang", "sanksi", "sejak", "war", "since"],
    "position_statement": ["menilai", "menegaskan", "said", "kata"],
}
FILLER = ["menteri", "luar", "negeri", "jakarta", "tokyo", "di", "dan", "pada", "senin", "the", "minister"]


def toy_rows(labels: list[str], per_label: int = 12, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for label in labels:
        for i in range(per_label):
            words = rng.sample(FILLER, 3) + [rng.choice(CUES[label])] + rng.sample(FILLER, 2)
            rows.append({"text": " ".join(words) + ".", "label": label, "article_id": f"{label}-{i % 4}"})
    rng.shuffle(rows)
    return rows


def toy_config(out: Path, **overrides: object) -> TrainConfig:
    values = dict(
        output_dir=str(out),
        method="full",
        epochs=12,
        lr=3e-3,
        batch_size=8,
        max_length=32,
        early_stopping_patience=0,
        calibrate=True,
        seed=0,
    )
    values.update(overrides)
    return TrainConfig(**values)


def accuracy(clf: Classifier, rows: list[dict[str, str]]) -> float:
    predicted = clf.predict([r["text"] for r in rows])
    return float(np.mean([p == r["label"] for p, r in zip(predicted, rows)]))


def test_retrain_three_labels_then_warm_start_onto_four(tiny_model_dir: Path, tmp_path: Path) -> None:
    three = ["meeting_report", "demand", "background"]
    rows3 = toy_rows(three)
    clf3 = train(toy_config(tmp_path / "m3", base=str(tiny_model_dir)), rows3, rows3)
    assert clf3.labels == sorted(three)
    assert clf3.predict_proba(["menteri bertemu"]).shape == (1, 3)
    assert accuracy(clf3, rows3) > 0.6  # chance is 1/3
    saved = Classifier.from_pretrained(tmp_path / "m3", device="cpu")
    np.testing.assert_allclose(saved.predict_proba(["a b c"]), clf3.predict_proba(["a b c"]), atol=1e-5)
    for name in ("README.md", "training_args.json", "config.json", "model.safetensors"):
        assert (tmp_path / "m3" / name).exists(), name

    head3 = clf3.model.classifier.weight.detach().clone()
    four = ["meeting_report", "position_statement", "demand", "background"]
    rows4 = toy_rows(four, seed=1)
    warm = toy_config(tmp_path / "m4", from_model=str(tmp_path / "m3"), labels=four, epochs=1, lr=1e-12)
    clf4 = train(warm, rows4, rows4)
    assert clf4.labels == four
    head4 = clf4.model.classifier.weight.detach()
    for name in three:  # rows of surviving labels are carried over (lr ~ 0 keeps them in place)
        np.testing.assert_allclose(head4[four.index(name)], head3[clf3.labels.index(name)], atol=1e-4)
    clf4b = train(toy_config(tmp_path / "m4b", from_model=str(tmp_path / "m3"), labels=four), rows4, rows4)
    assert clf4b.predict_proba(["x"]).shape == (1, 4)
    assert accuracy(clf4b, rows4) > 0.5  # chance is 1/4
    id2label = json.loads((tmp_path / "m4b" / "config.json").read_text())["id2label"]
    assert [id2label[str(i)] for i in range(4)] == four and not (tmp_path / "m4b" / "labels.json").exists()


def test_lora_adapter_roundtrip_and_merged_pipeline(tiny_model_dir: Path, tmp_path: Path) -> None:
    from transformers import pipeline

    rows = toy_rows(["meeting_report", "demand"])
    cfg = toy_config(tmp_path / "lora", base=str(tiny_model_dir), method="lora", epochs=2, save_format="both")
    clf = train(cfg, rows, rows)
    texts = [r["text"] for r in rows[:6]]
    adapter = Classifier.from_pretrained(tmp_path / "lora" / "adapter", device="cpu")
    merged = Classifier.from_pretrained(tmp_path / "lora", device="cpu")
    np.testing.assert_allclose(adapter.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)
    np.testing.assert_allclose(merged.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)
    pipe = pipeline("text-classification", model=str(tmp_path / "lora"), device="cpu")
    assert [r["label"] for r in pipe(texts)] == clf.predict(texts)


def test_full_fine_tuning_with_frozen_embeddings(tiny_model_dir: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    rows = toy_rows(["meeting_report", "demand"])
    config = toy_config(tmp_path / "fe", base=str(tiny_model_dir), freeze_embeddings=True)
    clf = train(config, rows, rows)
    before = load_file(str(tiny_model_dir / "model.safetensors"))
    after = load_file(str(tmp_path / "fe" / "model.safetensors"))
    embeddings = [key for key in after if ".embeddings." in key]
    layers = [key for key in after if ".encoder." in key and key.endswith(".weight")]
    assert embeddings and layers
    for key in embeddings:  # the embedding layer stays as pretrained ...
        np.testing.assert_array_equal(after[key], before[key])
    assert any(not np.array_equal(after[key], before[key]) for key in layers)  # ... the encoder trains
    assert accuracy(clf, rows) > 0.6


@pytest.mark.parametrize(
    ("rows", "kwargs", "fragment"),
    [
        ([{"txt": "a", "label": "x"}] * 4, {}, "column"),
        ([{"text": "a b", "label": "x"}, {"text": " ", "label": "y"}] * 2, {}, "row 1 has an empty"),
        ([{"text": "a", "label": "x"}] * 2 + [{"text": "b", "label": "y"}], {}, "fewer than 2"),
        ([{"text": "a", "label": "x"}] * 4, {}, "only one class"),
        (
            [{"text": "a", "label": "x"}, {"text": "b", "label": "z"}] * 2,
            {"labels": ["x", "y"]},
            "not in the label set",
        ),
    ],
)
def test_bad_training_data_fails_before_training(
    tiny_model_dir: Path, tmp_path: Path, rows: list[dict], kwargs: dict, fragment: str
) -> None:
    with pytest.raises(DataError, match=fragment):
        train(toy_config(tmp_path / "bad", base=str(tiny_model_dir), **kwargs), rows)
    assert not (tmp_path / "bad" / "checkpoints").exists()


def test_unwritable_output_dir(tiny_model_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="not writable"):
        train(toy_config(blocker / "out", base=str(tiny_model_dir)), toy_rows(["demand", "background"]))


def test_config_roundtrip_and_overrides(tmp_path: Path) -> None:
    cfg = TrainConfig(output_dir="x", labels=["a", "b"], lr=1e-4)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    path = tmp_path / "c.toml"
    path.write_text('[train]\noutput_dir = "y"\nepochs = 3\n')
    loaded = TrainConfig.from_file(path, ["train.lr=3e-5", "labels=auto"])
    assert (loaded.output_dir, loaded.epochs, loaded.lr, loaded.labels) == ("y", 3, 3e-5, None)
    with pytest.raises(ValueError, match="unknown field"):
        TrainConfig.from_dict({"epoks": 3})
    with pytest.raises(ValueError, match="method"):
        TrainConfig(method="magic")
    with pytest.raises(ValueError, match="freeze_embeddings applies to method='full'"):
        TrainConfig(method="lora", freeze_embeddings=True)
    with pytest.raises(ValueError, match="label_smoothing"):
        TrainConfig(label_smoothing=1.0)


def test_weighted_loss_with_label_smoothing() -> None:
    import torch

    from kontak_nlp.training.loss import WeightedLossTrainer

    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]])
    labels = torch.tensor([0, 2])
    model = lambda **_: SimpleNamespace(logits=logits)  # noqa: E731
    weights = np.array([1.0, 1.0, 3.0], dtype=np.float32)
    trainer = SimpleNamespace(class_weights=torch.as_tensor(weights), label_smoothing=0.2)
    loss = WeightedLossTrainer.compute_loss(trainer, model, {"labels": labels})
    log_p = torch.log_softmax(logits, dim=-1)
    target = torch.full((2, 3), 0.2 / 3) + 0.8 * torch.nn.functional.one_hot(labels, 3)
    per_row = -(target * log_p * torch.as_tensor(weights)).sum(-1)
    expected = per_row.sum() / torch.as_tensor(weights)[labels].sum()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
