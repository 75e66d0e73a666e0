"""RuntimeOptions: one set of runtime settings, validated and resolved in one place, one default."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import pytest
import torch

import kontak_nlp
from kontak_nlp import Classifier, ModelLoadError
from kontak_nlp.cli._runtime import add_runtime_arguments, runtime_options
from kontak_nlp.inference import RuntimeOptions, load_model
from kontak_nlp.inference.loader import default_model_path, model_source
from kontak_nlp.inference.options import resolve_device
from kontak_nlp.jobs import JobConfig


def test_default_is_torch_fp32_everywhere() -> None:
    default = RuntimeOptions()
    assert (default.device, default.precision, default.backend, default.quantize) == (
        "auto",
        "fp32",
        "torch",
        None,
    )
    parser = argparse.ArgumentParser()
    add_runtime_arguments(parser)
    assert runtime_options(parser.parse_args([])) == default  # the CLI's defaults are the API's
    assert JobConfig("in.txt").options == default
    signature = inspect.signature(Classifier.from_pretrained).parameters
    assert signature["precision"].default == default.precision and signature["device"].default == "auto"
    assert signature["batch_size"].default == default.batch_size


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"precision": "int3"}, "precision"),
        ({"backend": "tf"}, "backend"),
        ({"quantize": "int4"}, "quantize"),
        ({"quantize": "int8"}, "ONNX backend"),  # torch int8 was dropped
        ({"backend": "onnx", "precision": "bf16"}, "ONNX runs fp32"),
        ({"recheck_margin": -1.0}, "recheck_margin"),
        ({"threads": 0}, "threads"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_options_are_refused_with_the_field_named(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RuntimeOptions(**changes)
    with pytest.raises(ValueError, match=message):
        RuntimeOptions().replace(**changes)


def test_resolution_of_device_and_precision() -> None:
    cpu = RuntimeOptions(device="cpu")
    assert cpu.resolve().precision == "fp32" and cpu.resolve().autocast_dtype is None
    from kontak_nlp.inference.options import cpu_can_run_bf16

    if cpu_can_run_bf16():
        assert RuntimeOptions(device="cpu", precision="bf16").resolve().autocast_dtype is torch.bfloat16
    else:
        with pytest.raises(ValueError, match="needs AVX512"):
            RuntimeOptions(device="cpu", precision="bf16").resolve()
    assert RuntimeOptions(device="cpu", precision="auto").resolve().precision in ("fp32", "bf16")
    assert RuntimeOptions(device="cpu", backend="onnx", quantize="int8").resolve().precision == "int8"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="not a valid device"):
        RuntimeOptions(device="gpu-please").resolve()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            RuntimeOptions(device="cuda:0").resolve()


def test_default_means_the_shipped_model_and_paths_never_reach_the_hub(tmp_path: Path) -> None:
    assert model_source(None) == model_source("default") == default_model_path()
    assert model_source("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"
    for path_like in ("./runs/news4", "../news4", "/no/such/model", "~/no-such-model", "runs/a/b", "a b"):
        with pytest.raises(ModelLoadError, match="does not exist"):
            load_model(path_like)
    with pytest.raises(ModelLoadError, match="does not exist"):
        kontak_nlp.load(tmp_path / "missing")


def test_loader_applies_the_options(tiny_model_dir: Path, one_torch_thread: object) -> None:
    model = load_model(tiny_model_dir, RuntimeOptions(device="cpu", batch_size=5, threads=1))
    assert isinstance(model, Classifier)
    assert (model.precision, model.batch_size, str(model.device)) == ("fp32", 5, "cpu")
    assert torch.get_num_threads() == 1


def test_peft_is_imported_only_for_adapter_directories(tiny_model_dir: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, kontak_nlp\n"
        f"kontak_nlp.classify('menteri bertemu.', model={str(tiny_model_dir)!r}, device='cpu')\n"
        "assert 'peft' not in sys.modules, 'a plain model directory imported peft'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
