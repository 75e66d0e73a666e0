"""kontak_nlp: sentence-level tagging of diplomatic news in Indonesian, English and Malay.

Every sentence gets one of four labels: ``meeting_report``, ``position_statement``, ``demand``
or ``background`` (see the annotation guidelines in ``training/GUIDELINES.md``).

Example:
    >>> import kontak_nlp
    >>> kontak_nlp.classify("Menlu Jepang bertemu Menlu Korea Selatan di Tokyo.").label  # doctest: +SKIP
    'meeting_report'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kontak_nlp._version import __version__

# Bound eagerly, and through the kontak_nlp.segment compatibility module: the function shares that
# module's name, so the module must be imported before the name is bound, or a later
# `import kontak_nlp.segment` would replace the function with the module. Segmentation is pure
# Python, so this import is cheap.
from kontak_nlp.segment import Segmentation, Sentence, segment

__all__ = [
    "DEFAULT_LABELS",
    "ArticleResult",
    "Classifier",
    "FetchError",
    "KontakError",
    "InputError",
    "ModelLoadError",
    "Prediction",
    "Segmentation",
    "Sentence",
    "TrainConfig",
    "__version__",
    "classify",
    "classify_article",
    "evaluate",
    "load",
    "segment",
    "train",
]

# The other public names resolve lazily so that `import kontak_nlp` stays cheap (no torch yet).
_LAZY: dict[str, str] = {
    "DEFAULT_LABELS": "kontak_nlp.schema",
    "Prediction": "kontak_nlp.schema",
    "KontakError": "kontak_nlp.errors",
    "FetchError": "kontak_nlp.text.fetch",
    "InputError": "kontak_nlp.errors",
    "ModelLoadError": "kontak_nlp.errors",
    "Classifier": "kontak_nlp.inference.torch_backend",
    "classify": "kontak_nlp.api",
    "load": "kontak_nlp.api",
    "ArticleResult": "kontak_nlp.text.article",
    "classify_article": "kontak_nlp.text.article",
    "TrainConfig": "kontak_nlp.training.config",
    "train": "kontak_nlp.training.trainer",
    "evaluate": "kontak_nlp.evaluation",
}

if TYPE_CHECKING:  # pragma: no cover
    from kontak_nlp.api import classify, load
    from kontak_nlp.errors import InputError, KontakError, ModelLoadError
    from kontak_nlp.evaluation import evaluate
    from kontak_nlp.inference.torch_backend import Classifier
    from kontak_nlp.schema import DEFAULT_LABELS, Prediction
    from kontak_nlp.text.article import ArticleResult, classify_article
    from kontak_nlp.text.fetch import FetchError
    from kontak_nlp.training.config import TrainConfig
    from kontak_nlp.training.trainer import train


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kontak_nlp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
