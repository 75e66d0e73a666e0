"""The light CPU inference path: BERT sentence classifiers run without transformers' model code.

The first ``classify()`` of a process used to import transformers' BERT modelling code (with
torch._dynamo, generation and masking utilities), build a transformers tokenizer and merge the
adapters into a transformers model: most of its seconds. A CPU classifier needs none of it:

* the weights are read with safetensors (the backbone cache, plain LoRA merged on the tensors once
  per machine and cached, the head) and run by :class:`~kontak_nlp.inference.fast_bert.FastBertForward`,
  the fast CPU forward;
* the tokenizer is the transformers tokenizer's ``tokenizers`` backend, cached on first load
  (:mod:`~kontak_nlp.inference.light_tokenizer`);
* the config is ``config.json`` read as attributes (:class:`LightConfig`).

:func:`load_light` returns None, and the caller takes the transformers path, for anything else:
another architecture or activation, adapters other than plain LoRA (DoRA...), a base on the hub,
weights that do not cover the whole classifier or are not fp32, a tokenizer that needs transformers.
The transformers model, config and tokenizer are built from the same weights when asked for
(:meth:`LightBert.transformers_model`, used by ``Classifier.model``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from kontak_nlp.inference import model_io
from kontak_nlp.inference.fast_bert import ACTIVATIONS, BertShape, FastBertForward
from kontak_nlp.inference.light_tokenizer import LightTokenizer, load_light_tokenizer
from kontak_nlp.inference.model_safety import check_no_code

logger = logging.getLogger(__name__)

_WEIGHTS = "model.safetensors"
_PREFIX = "bert."
_REQUIRED = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "vocab_size",
    "max_position_embeddings",
)


class LightConfig:
    """A model's ``config.json`` as attributes, ``id2label`` keyed by int as in transformers' config.

    Example:
        >>> config = LightConfig({"model_type": "bert", "id2label": {"0": "a", "1": "b"}})
        >>> config.id2label, config.num_labels
        ({0: 'a', 1: 'b'}, 2)
    """

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        self.id2label = {int(key): str(name) for key, name in (values.get("id2label") or {}).items()}
        self.label2id = {str(name): int(key) for name, key in (values.get("label2id") or {}).items()}

    @property
    def num_labels(self) -> int:
        """The number of labels (``len(id2label)``)."""
        return len(self.id2label)

    def to_dict(self) -> dict[str, Any]:
        """The values, as ``config.json`` holds them (with any attribute set since)."""
        return dict(self.__dict__)


@dataclass
class LightBert:
    """A BERT classifier loaded for the light path: config, merged fp32 weights, light tokenizer.

    Attributes:
        source: The model directory.
        config: Its ``config.json`` (:class:`LightConfig`).
        tensors: The weights, named as in ``BertForSequenceClassification.state_dict()``; None once
            released (a transformers model was built from them).
        tokenizer: The light tokenizer (None once a transformers tokenizer replaced it).
        tokenizer_dir: Where ``AutoTokenizer`` reads the same tokenizer.
        weights_dir: Where the (base) weights were read (the transformers model's ``name_or_path``).

    Example:
        >>> light = load_light(Path("kontak_nlp/models/news4"))  # doctest: +SKIP
        >>> light.forward(torch.float32)(input_ids, attention_mask).shape  # doctest: +SKIP
        torch.Size([1, 4])
    """

    source: Path
    config: LightConfig
    tensors: dict[str, torch.Tensor] | None
    tokenizer: LightTokenizer | None
    tokenizer_dir: Path
    weights_dir: Path
    _forwards: dict[torch.dtype, FastBertForward] = field(default_factory=dict, repr=False)

    @property
    def max_length(self) -> int:
        """The usable token limit (as :func:`~kontak_nlp.inference.model_io.model_max_length`)."""
        return model_io.model_max_length(SimpleNamespace(config=self.config), self.tokenizer)

    def forward(self, dtype: torch.dtype = torch.float32) -> FastBertForward:
        """The fast CPU forward of these weights in ``dtype`` (built once per dtype)."""
        if self.tensors is None:
            raise RuntimeError("the light weights were released")
        if dtype not in self._forwards:
            shape = BertShape.from_config(self.config.to_dict())
            self._forwards[dtype] = FastBertForward(self.tensors, shape, dtype)
        return self._forwards[dtype]

    def release_weights(self) -> None:
        """Drop the weights and forwards (a transformers model now holds the weights)."""
        self.tensors, self._forwards = None, {}

    def transformers_config(self) -> Any:
        """The transformers config of ``config.json`` (as ``AutoConfig.from_pretrained`` reads it)."""
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING

        values = self.config.to_dict()
        return CONFIG_MAPPING[values["model_type"]].from_dict(values)

    def transformers_model(self, config: Any) -> Any:
        """A ``BertForSequenceClassification`` holding these weights, in eval mode.

        Example:
            >>> light.transformers_model(light.transformers_config()).classifier  # doctest: +SKIP
            Linear(in_features=384, out_features=4, bias=True)
        """
        from transformers import BertForSequenceClassification

        if self.tensors is None:
            raise RuntimeError("the light weights were released")
        with model_io.quiet_transformers():
            model = BertForSequenceClassification.from_pretrained(
                None, config=config, state_dict=dict(self.tensors)
            )
        model.config.name_or_path = str(self.weights_dir)  # as from_pretrained(weights_dir) sets it
        return model.eval()

    def transformers_tokenizer(self) -> Any:
        """The transformers tokenizer (``AutoTokenizer`` on :attr:`tokenizer_dir`)."""
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.tokenizer_dir), trust_remote_code=False)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_forwards"] = {}  # packed oneDNN weights do not pickle; rebuilt on first use
        return state


def load_light(path: Path) -> LightBert | None:
    """Load a local model directory for the light path, or None when it needs transformers.

    The directory is checked first as on the transformers path (no code, labels, checksums:
    :func:`~kontak_nlp.inference.model_io.check_model_dir`), so a broken directory raises
    :class:`~kontak_nlp.errors.ModelLoadError` either way.

    Example:
        >>> load_light(Path("kontak_nlp/models/news4")).config.num_labels  # doctest: +SKIP
        4
    """
    model_io.check_model_dir(path)
    values = model_io.read_json(path / "config.json")
    reason = config_issue(values)
    located = _weights_and_tokenizer_dir(path) if reason is None else None
    if located is None:
        logger.debug("light path not used for %s: %s", path, reason or "its base is not a local directory")
        return None
    tensors = _merged_tensors(path, located[0], values)
    if tensors is None:
        logger.debug("light path not used for %s: its weights are not a plain fp32 BERT classifier", path)
        return None
    tokenizer = load_light_tokenizer(located[1])
    if tokenizer is None:
        return None
    return LightBert(path, LightConfig(values), tensors, tokenizer, located[1], located[0])


def config_issue(config: dict[str, Any]) -> str | None:
    """Why a ``config.json`` is not a BERT classifier the light path runs (None when it is).

    Example:
        >>> config_issue({"model_type": "roberta"})
        "model_type 'roberta' is not bert"
    """
    if config.get("model_type") != "bert":
        return f"model_type {config.get('model_type')!r} is not bert"
    missing = [key for key in _REQUIRED if not isinstance(config.get(key), int)]
    if missing:
        return f"config.json gives no {missing[0]}"
    if config.get("is_decoder") or config.get("add_cross_attention"):
        return "decoder / cross-attention configuration"
    if config.get("position_embedding_type", "absolute") not in (None, "absolute"):
        return f"position_embedding_type={config['position_embedding_type']!r}"
    if config.get("hidden_act", "gelu") != "gelu" and config.get("hidden_act") not in ACTIVATIONS:
        return f"hidden_act={config.get('hidden_act')!r}"
    if not config.get("id2label") or config.get("quantization_config"):
        return "no id2label" if not config.get("id2label") else "quantized weights"
    if config["hidden_size"] % config["num_attention_heads"]:
        return "hidden_size is not a multiple of num_attention_heads"
    return None


def _weights_and_tokenizer_dir(path: Path) -> tuple[Path, Path] | None:
    """``(directory of the base weights, tokenizer directory)``; None when the base is not local."""
    if not (path / model_io.ADAPTER_CONFIG).exists():
        return path, path
    from kontak_nlp.backbone import resolve_base

    base = Path(resolve_base(model_io.read_json(path / model_io.KONTAK_CONFIG).get("base")))
    if not base.is_dir():
        return None
    check_no_code(base, model_io.read_json(base / "config.json"))
    return base, path if (path / "tokenizer_config.json").exists() else base


def _merged_tensors(path: Path, weights_dir: Path, config: dict[str, Any]) -> dict[str, torch.Tensor] | None:
    """The classifier's tensors: ``weights_dir``'s, with ``path``'s plain LoRA adapters merged in
    (cached once per machine: :mod:`~kontak_nlp.inference.merge_cache`)."""
    from kontak_nlp.inference.merge_cache import merged_weights

    if not (weights_dir / _WEIGHTS).exists():
        return None
    tensors = _bert_tensors(weights_dir / _WEIGHTS)
    if (path / model_io.ADAPTER_CONFIG).exists():
        merged = merged_weights(path, weights_dir / _WEIGHTS, tensors)
        if merged is None:
            return None
        tensors.update(merged)
    expected = expected_shapes(config)
    for name, shape in expected.items():
        tensor = tensors.get(name)
        if tensor is None or tuple(tensor.shape) != shape or tensor.dtype != torch.float32:
            return None
    return {name: tensors[name] for name in expected}


def _bert_tensors(file: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors, named as in ``BertForSequenceClassification`` (a bare
    ``BertModel`` checkpoint gets the ``bert.`` prefix, as transformers loads it)."""
    from safetensors.torch import load_file

    tensors = load_file(str(file))
    if any(name.startswith(_PREFIX) for name in tensors):
        return tensors
    return {_PREFIX + name: tensor for name, tensor in tensors.items()}


def expected_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Name and shape of every parameter of the ``BertForSequenceClassification`` of ``config``.

    Example:
        >>> shapes = expected_shapes({"hidden_size": 8, "intermediate_size": 16, "vocab_size": 50,
        ...     "max_position_embeddings": 32, "num_hidden_layers": 1, "id2label": {"0": "a"}})
        >>> shapes["classifier.weight"], len(shapes)
        ((1, 8), 25)
    """
    hidden, inner = config["hidden_size"], config["intermediate_size"]
    rows = {"word": config["vocab_size"], "position": config["max_position_embeddings"]}
    rows["token_type"] = config.get("type_vocab_size", 2)
    shapes = {f"bert.embeddings.{kind}_embeddings.weight": (n, hidden) for kind, n in rows.items()}
    shapes.update(
        {"bert.embeddings.LayerNorm.weight": (hidden,), "bert.embeddings.LayerNorm.bias": (hidden,)}
    )
    parts = {"attention.self.query": (hidden, hidden), "attention.self.key": (hidden, hidden)}
    parts.update({"attention.self.value": (hidden, hidden), "attention.output.dense": (hidden, hidden)})
    parts.update({"attention.output.LayerNorm": (hidden,), "intermediate.dense": (inner, hidden)})
    parts.update({"output.dense": (hidden, inner), "output.LayerNorm": (hidden,)})
    for layer in range(config["num_hidden_layers"]):
        for part, weight in parts.items():
            shapes[f"bert.encoder.layer.{layer}.{part}.weight"] = weight
            shapes[f"bert.encoder.layer.{layer}.{part}.bias"] = weight[:1]
    labels = len(config["id2label"])
    shapes.update({"bert.pooler.dense.weight": (hidden, hidden), "bert.pooler.dense.bias": (hidden,)})
    shapes.update({"classifier.weight": (labels, hidden), "classifier.bias": (labels,)})
    return shapes
