"""Fast start: adapters merged without peft, and the backbone's sha256 recorded across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from kontak_nlp import checksums
from kontak_nlp.inference.lora import is_plain_lora, merge_plain_lora

REPO = Path(__file__).resolve().parent.parent


def test_plain_lora_merge_equals_peft(adapter_dir: Path, tiny_model_dir: Path) -> None:
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(adapter_dir)
    ours = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, config=config)
    theirs = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, config=config)
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    assert merge_plain_lora(ours, adapter_dir)
    theirs = PeftModel.from_pretrained(theirs, str(adapter_dir)).merge_and_unload()
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert set(mine) == set(reference)
    for key in mine:
        torch.testing.assert_close(mine[key], reference[key], rtol=1e-5, atol=1e-6, msg=key)
    changed = [k for k in mine if not torch.equal(mine[k], before[k])]
    assert any("attention.self.query" in k for k in changed) and "classifier.weight" in changed


def test_other_adapter_kinds_are_left_to_peft(
    adapter_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForSequenceClassification

    settings = json.loads((adapter_dir / "adapter_config.json").read_text())
    assert is_plain_lora(settings)
    assert not is_plain_lora({**settings, "use_dora": True})
    assert not is_plain_lora({**settings, "rank_pattern": {"query": 8}})
    odd = tmp_path / "dora"
    odd.mkdir()
    (odd / "adapter_config.json").write_text(json.dumps({**settings, "use_dora": True}))
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert not merge_plain_lora(model, odd)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_loading_an_adapter_dir_does_not_import_peft(adapter_dir: Path) -> None:
    code = (
        "import sys, kontak_nlp; clf = kontak_nlp.load(sys.argv[1], device='cpu'); "
        "clf.classify(['menteri bertemu']); print('peft' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(adapter_dir)], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_sha256_is_recorded_for_settled_files_and_rehashed_after_a_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KONTAK_NLP_HOME", str(tmp_path / "home"))
    calls = []
    real = checksums._hash_file
    monkeypatch.setattr(checksums, "_hash_file", lambda path: calls.append(path) or real(path))
    file = tmp_path / "weights.bin"
    file.write_bytes(b"x" * 1000)
    checksums.clear_cache()
    fresh = checksums.sha256_file(file, cached=True)
    assert not (tmp_path / "home" / "sha256.json").exists()  # just written: not recorded (racy)
    old = time.time() - 60
    os.utime(file, (old, old))  # mtime settles; ctime is now, so wait out the settling time instead
    monkeypatch.setattr(checksums, "_SETTLED_NS", 0)
    checksums.clear_cache()
    assert checksums.sha256_file(file, cached=True) == fresh and len(calls) == 2
    assert (tmp_path / "home" / "sha256.json").exists()
    checksums.clear_cache()  # a new process: the recorded hash is used
    assert checksums.sha256_file(file, cached=True) == fresh and len(calls) == 2
    time.sleep(0.05)  # past the file system's timestamp tick (the settling time covers this in use)
    file.write_bytes(b"y" * 1000)  # same size; a write moves ctime even if mtime is set back
    os.utime(file, (old, old))
    checksums.clear_cache()
    assert checksums.sha256_file(file, cached=True) != fresh and len(calls) == 3
