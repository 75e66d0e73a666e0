from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _tiny import build_tiny_adapter, build_tiny_model  # noqa: E402

from kontak_nlp import Classifier  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny 4-label model directory, built once per session."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter directory over the tiny model, with non-zero adapters (as after training)."""
    return build_tiny_adapter(tiny_model_dir, tmp_path_factory.mktemp("adapter") / "model")


@pytest.fixture(scope="session")
def _tiny_classifier_session(tiny_model_dir: Path) -> Classifier:
    return Classifier.from_pretrained(tiny_model_dir, device="cpu")


@pytest.fixture
def tiny_classifier(_tiny_classifier_session: Classifier) -> Classifier:
    """A fresh copy of the tiny classifier for each test."""
    return copy.deepcopy(_tiny_classifier_session)


@pytest.fixture
def one_torch_thread() -> object:
    """One torch thread: fast and steady for a tiny model on a shared 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
