"""The fast CPU forward gives the transformers forward's logits, and steps aside when it cannot."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from kontak_nlp import Classifier
from kontak_nlp.inference.fast_bert import build_fast_forward, unsupported_reason
from kontak_nlp.inference.options import cpu_can_run_bf16

TEXTS = [
    "menteri luar negeri bertemu di jakarta pada senin.",
    "the minister urged talks.",
    "sanksi!",
    "perang sejak 1999, kata menteri, dan pertemuan di tokyo membahas sanksi dan perang.",
    "x",
]


def _pair(model_dir: Path, **kwargs: object) -> tuple[Classifier, Classifier]:
    fast = Classifier.from_pretrained(model_dir, device="cpu", **kwargs)
    plain = Classifier.from_pretrained(model_dir, device="cpu", fast_path=False, **kwargs)
    return fast, plain


def test_fast_forward_matches_transformers_on_padded_batches(tiny_model_dir: Path) -> None:
    fast, plain = _pair(tiny_model_dir)
    got = fast.predict_logits(TEXTS, batch_size=3)
    assert fast._fast is not None and fast._fast[1] is not None  # the fast path really ran
    np.testing.assert_allclose(got, plain.predict_logits(TEXTS, batch_size=3), atol=1e-5, rtol=1e-5)
    assert plain._fast is None


@pytest.mark.skipif(not cpu_can_run_bf16(), reason="this CPU cannot run bf16 (no AVX512 BW/VL/DQ)")
def test_bf16_fast_forward_stays_close_to_fp32(tiny_model_dir: Path) -> None:
    fast = Classifier.from_pretrained(tiny_model_dir, device="cpu", precision="bf16")
    reference = Classifier.from_pretrained(tiny_model_dir, device="cpu", fast_path=False)
    got, want = fast.predict_logits(TEXTS), reference.predict_logits(TEXTS)
    assert fast._fast[1] is not None and fast._fast[1].dtype == torch.bfloat16
    assert np.abs(got - want).max() < 0.05 * max(1.0, float(np.abs(want).max()))
    assert not np.array_equal(got, want)  # it did run in bf16


def test_other_activations_and_head_layouts(tmp_path: Path, tiny_model_dir: Path) -> None:
    base = Classifier.from_pretrained(tiny_model_dir, device="cpu")
    config = BertConfig(**{**base.model.config.to_dict(), "hidden_act": "relu", "num_hidden_layers": 3})
    torch.manual_seed(3)
    Classifier(BertForSequenceClassification(config), base.tokenizer, device="cpu").save_pretrained(tmp_path)
    fast, plain = _pair(tmp_path)
    np.testing.assert_allclose(fast.predict_logits(TEXTS), plain.predict_logits(TEXTS), atol=1e-5, rtol=1e-5)
    assert fast._fast[1] is not None


def test_weights_changed_in_place_rebuild_the_fast_forward(tiny_model_dir: Path) -> None:
    fast, plain = _pair(tiny_model_dir)
    before = fast.predict_logits(TEXTS)
    for clf in (fast, plain):
        with torch.no_grad():
            clf.model.bert.encoder.layer[0].intermediate.dense.weight.mul_(3.0)
    after = fast.predict_logits(TEXTS)
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after, plain.predict_logits(TEXTS), atol=1e-5, rtol=1e-5)


def test_unsupported_models_fall_back_to_transformers(tiny_model_dir: Path) -> None:
    clf = Classifier.from_pretrained(tiny_model_dir, device="cpu")
    clf.model = torch.ao.quantization.quantize_dynamic(clf.model, {torch.nn.Linear}, dtype=torch.qint8)
    assert "not a plain nn.Linear" in unsupported_reason(clf.model)
    assert clf.predict_logits(TEXTS).shape == (len(TEXTS), len(clf.labels))
    assert clf._fast[1] is None
    assert "is not a BertForSequenceClassification" in unsupported_reason(torch.nn.Linear(2, 2))


def test_a_mismatch_disables_the_fast_forward(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import kontak_nlp.inference.fast_bert as fast_bert

    clf = Classifier.from_pretrained(tiny_model_dir, device="cpu")
    wrong_maths = lambda q, k, v, padding, heads: q * 0 + 1.0  # noqa: E731
    monkeypatch.setattr(fast_bert, "multi_head_attention", wrong_maths)
    with caplog.at_level(logging.WARNING, logger="kontak_nlp.inference.fast_bert"):
        assert build_fast_forward(clf.model) is None
    assert "fast CPU forward disabled" in caplog.text


def test_a_classifier_with_a_built_fast_forward_pickles_and_copies(tiny_model_dir: Path) -> None:
    import copy
    import pickle

    clf = Classifier.from_pretrained(tiny_model_dir, device="cpu")
    want = clf.predict_logits(TEXTS)
    for twin in (pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf)):
        np.testing.assert_allclose(twin.predict_logits(TEXTS), want, atol=1e-6)


def test_left_padded_and_unpadded_batches_match_transformers(tiny_model_dir: Path) -> None:
    fast, plain = _pair(tiny_model_dir)
    ids = np.array([[1, 1, 2, 7, 8, 3], [2, 9, 10, 11, 12, 3], [1, 1, 1, 1, 2, 3]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    mask[0, :2] = 0
    mask[2, :4] = 0
    for batch in ((ids, mask), (ids[1:2], mask[1:2])):  # left padding; a batch without padding
        np.testing.assert_allclose(fast._forward(*batch), plain._forward(*batch), atol=1e-5, rtol=1e-5)
    assert fast._fast[1] is not None


@pytest.mark.skipif(cpu_can_run_bf16(), reason="this CPU runs bf16")
def test_bf16_on_a_cpu_without_it_is_a_clear_error(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="precision='bf16'"):
        Classifier.from_pretrained(tiny_model_dir, device="cpu", precision="bf16")
