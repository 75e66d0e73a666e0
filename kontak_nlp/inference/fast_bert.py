"""A faster CPU forward pass for BERT-architecture sentence classifiers (e5-small, IndoBERT).

Same weights and the same maths as ``BertForSequenceClassification`` in eval mode, with three
changes that matter on a CPU:

- weight matrices are pre-packed once for oneDNN (on the AMD EPYC CI machines its GEMMs run
  15-25% faster than the MKL calls ``nn.Linear`` makes), the three attention projections are one
  product and GELU is fused into the feed-forward product;
- the last layer computes its query, attention output and feed-forward for the first token only:
  the classification head reads nothing else (about 1/13 of the work saved);
- bf16 runs with pre-packed bf16 weights instead of autocast, which re-casts every fp32 weight on
  every call; the residual stream, LayerNorms and softmax stay fp32.

:class:`FastBertForward` is built from tensors named as in ``BertForSequenceClassification``'s
state dict plus a few config values (:class:`BertShape`), so it needs no transformers module: the
light loader (:mod:`kontak_nlp.inference.light`) builds it straight from safetensors files.
:func:`build_fast_forward` builds it from a loaded transformers model, checks the result against the
transformers forward on a small input and returns None (the caller falls back to the plain forward)
when the model is not a plain BERT classifier or the check fails. :func:`weights_signature` lets
callers notice changed weights.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

logger = logging.getLogger(__name__)

_PACK_HINT = 1024  # typical tokens per batch; oneDNN's packed layout works for any row count
_TOLERANCE = {torch.float32: 1e-3, torch.bfloat16: 5e-2}  # max |logit diff| / max(1, max |logit|)
_EMBEDDINGS = "bert.embeddings."
Activation = Callable[[torch.Tensor], torch.Tensor]

#: ``hidden_act`` values computed here exactly as transformers' ``ACT2FN`` modules compute them
#: (``"gelu"``, exact GELU, is fused into the feed-forward product instead).
ACTIVATIONS: dict[str, Activation] = {"relu": F.relu, "swish": F.silu, "tanh": torch.tanh}


@functools.cache
def _onednn_available() -> bool:
    try:
        torch.ops.mkldnn._linear_pointwise  # noqa: B018 - raises when the op is missing
        torch.ops.mkldnn._reorder_linear_weight  # noqa: B018
    except (AttributeError, RuntimeError):
        return False
    return torch.backends.mkldnn.is_available()


class _Linear:
    """``y = act(x @ W.T + b)`` with W pre-packed for oneDNN when it is available."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, dtype: torch.dtype, gelu: bool) -> None:
        self.out_features = weight.shape[0]
        self.gelu = gelu
        self.onednn = _onednn_available()
        weight = weight.detach().to(dtype).contiguous()
        self.bias = bias.detach().to(dtype).contiguous()
        self.weight = torch.ops.mkldnn._reorder_linear_weight(weight, _PACK_HINT) if self.onednn else weight

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1])
        if self.onednn:
            post, algorithm = ("gelu", "none") if self.gelu else ("none", "")
            out = torch.ops.mkldnn._linear_pointwise(rows, self.weight, self.bias, post, [], algorithm)
        else:
            out = F.linear(rows, self.weight, self.bias)
            out = F.gelu(out) if self.gelu else out
        return out.view(*x.shape[:-1], self.out_features)


@dataclass(frozen=True)
class BertShape:
    """The config values the fast forward needs besides the weights.

    Attributes:
        layers: Encoder layers (``num_hidden_layers``).
        heads: Attention heads (``num_attention_heads``).
        eps: LayerNorm epsilon (``layer_norm_eps``).
        activation: The feed-forward activation; None is exact GELU, fused into the product.

    Example:
        >>> shape = BertShape.from_config({"num_hidden_layers": 2, "num_attention_heads": 4})
        >>> shape.eps, shape.activation is None
        (1e-12, True)
    """

    layers: int
    heads: int
    eps: float = 1e-12
    activation: Activation | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], activation: Activation | None = None) -> BertShape:
        """From ``config.json`` values; ``activation`` None looks ``hidden_act`` up in :data:`ACTIVATIONS`
        (KeyError when it is not there and not ``"gelu"``)."""
        act = config.get("hidden_act", "gelu")
        if activation is None and act != "gelu":
            activation = ACTIVATIONS[act]
        eps = float(config.get("layer_norm_eps", 1e-12))
        return cls(int(config["num_hidden_layers"]), int(config["num_attention_heads"]), eps, activation)


class _Weights:
    """Named tensors of a ``BertForSequenceClassification`` state dict, read by prefix."""

    def __init__(self, tensors: Mapping[str, torch.Tensor], prefix: str = "") -> None:
        self.tensors, self.prefix = tensors, prefix

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.tensors[self.prefix + name].detach()

    def pair(self, module: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(weight, bias)`` of a linear or LayerNorm module."""
        return self[f"{module}.weight"], self[f"{module}.bias"]

    def stacked(self, *modules: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The weights and biases of ``modules`` concatenated (one product for several projections)."""
        pairs = [self.pair(module) for module in modules]
        return torch.cat([w for w, _ in pairs]), torch.cat([b for _, b in pairs])


class _Layer:
    """One BERT encoder layer's packed weights plus its (fp32) LayerNorm parameters and activation."""

    def __init__(
        self, weights: _Weights, dtype: torch.dtype, shape: BertShape, *, first_token_only: bool
    ) -> None:
        self.heads = shape.heads
        self.qkv: _Linear | None = None
        self.query: _Linear | None = None
        self.key_value: _Linear | None = None
        q, k, v = "attention.self.query", "attention.self.key", "attention.self.value"
        if first_token_only:  # the query product runs on fewer rows than the key/value one
            self.query = _Linear(*weights.pair(q), dtype, gelu=False)
            self.key_value = _Linear(*weights.stacked(k, v), dtype, gelu=False)
        else:
            self.qkv = _Linear(*weights.stacked(q, k, v), dtype, gelu=False)
        self.attention_out = _Linear(*weights.pair("attention.output.dense"), dtype, gelu=False)
        self.norm1 = weights.pair("attention.output.LayerNorm")
        self.up = _Linear(*weights.pair("intermediate.dense"), dtype, gelu=shape.activation is None)
        self.activation = shape.activation
        self.down = _Linear(*weights.pair("output.dense"), dtype, gelu=False)
        self.norm2 = weights.pair("output.LayerNorm")


def architecture_issue(model: Any) -> str | None:
    """Why ``model`` is not a plain BERT sentence classifier (None when it is).

    The first-token-only forwards (this module and the ONNX export graph) need an encoder-only
    ``BertForSequenceClassification`` with absolute positions and a pooler.

    Example:
        >>> architecture_issue(object())
        'object is not a BertForSequenceClassification'
    """
    from transformers import BertForSequenceClassification

    if not isinstance(model, BertForSequenceClassification):
        return f"{type(model).__name__} is not a BertForSequenceClassification"
    config = model.config
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        return "decoder / cross-attention configuration"
    if getattr(config, "position_embedding_type", "absolute") not in (None, "absolute"):
        return f"position_embedding_type={config.position_embedding_type!r}"
    if model.bert.pooler is None or config.num_labels < 1:
        return "no pooler"
    return None


def unsupported_reason(model: Any) -> str | None:
    """Why :func:`build_fast_forward` cannot handle ``model`` (None when it can).

    Example:
        >>> unsupported_reason(object())
        'object is not a BertForSequenceClassification'
    """
    reason = architecture_issue(model)
    if reason is not None:
        return reason
    if next(model.parameters()).device.type != "cpu":
        return "the model is not on the CPU"
    for name, module in model.bert.encoder.named_modules():
        kind = name.rsplit(".", 1)[-1]
        if kind in ("dense", "query", "key", "value") and type(module) is not torch.nn.Linear:
            return f"{name} is a {type(module).__name__}, not a plain nn.Linear (adapters or quantization)"
        if kind in ("dense", "query", "key", "value") and module.bias is None:
            return f"{name} has no bias"
    return None


class FastBertForward:
    """Logits of a ``BertForSequenceClassification`` from padded ``input_ids``/``attention_mask``.

    Args:
        tensors: The model's weights, named as in ``BertForSequenceClassification.state_dict()``
            (``bert.embeddings.*``, ``bert.encoder.layer.N.*``, ``bert.pooler.dense.*``, ``classifier.*``).
        shape: Layers, heads, LayerNorm epsilon and activation (:class:`BertShape`).
        dtype: ``torch.float32`` or ``torch.bfloat16`` for the weight products.

    :func:`build_fast_forward` builds one from a transformers model and checks it against the
    transformers forward.

    Example:
        >>> fast = FastBertForward(state_dict, BertShape(layers=12, heads=12))  # doctest: +SKIP
        >>> fast(input_ids, attention_mask).shape  # doctest: +SKIP
        torch.Size([32, 4])
    """

    def __init__(
        self, tensors: Mapping[str, torch.Tensor], shape: BertShape, dtype: torch.dtype = torch.float32
    ) -> None:
        self.dtype, self.eps = dtype, shape.eps
        embeddings = _Weights(tensors, _EMBEDDINGS)
        self.word = embeddings["word_embeddings.weight"]
        self.position = embeddings["position_embeddings.weight"]
        self.token_type = embeddings["token_type_embeddings.weight"][0]
        self.embedding_norm = embeddings.pair("LayerNorm")
        self.pooler = _Weights(tensors).pair("bert.pooler.dense")
        self.classifier = _Weights(tensors).pair("classifier")
        self.layers = [
            _Layer(
                _Weights(tensors, f"bert.encoder.layer.{i}."),
                dtype,
                shape,
                first_token_only=i == shape.layers - 1,
            )
            for i in range(shape.layers)
        ]

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        tokens = _Packing(attention_mask)
        hidden = tokens.pack(self._embed(input_ids))
        for layer in self.layers:
            hidden = self._layer(layer, hidden, tokens)
        pooled = torch.tanh(F.linear(hidden, *self.pooler))
        return F.linear(pooled, *self.classifier).float()

    def _embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """``BertEmbeddings`` in eval mode: word + token type 0 + absolute position, then LayerNorm."""
        embedded = F.embedding(input_ids, self.word) + self.token_type
        embedded = embedded + self.position[: input_ids.shape[1]]
        return self._norm(embedded, self.embedding_norm)

    def _norm(self, x: torch.Tensor, weights: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return F.layer_norm(x, weights[0].shape, weights[0], weights[1], self.eps)

    def _layer(self, layer: _Layer, hidden: torch.Tensor, tokens: _Packing) -> torch.Tensor:
        """One encoder layer on packed ``(tokens, hidden)`` rows (``(batch, hidden)`` if first only)."""
        x = hidden.to(self.dtype)
        if layer.query is not None and layer.key_value is not None:  # first token only (last layer)
            query = layer.query(x[tokens.firsts])[:, None, :]
            key, value = tokens.unpack(layer.key_value(x)).chunk(2, dim=-1)
            residual = hidden[tokens.firsts]
            context = multi_head_attention(query, key, value, tokens.padding, layer.heads)[:, 0]
        else:
            assert layer.qkv is not None
            query, key, value = tokens.unpack(layer.qkv(x)).chunk(3, dim=-1)
            residual = hidden
            context = tokens.pack(multi_head_attention(query, key, value, tokens.padding, layer.heads))
        hidden = self._norm(layer.attention_out(context).float() + residual, layer.norm1)
        inner = layer.up(hidden.to(self.dtype))
        if layer.activation is not None:
            inner = layer.activation(inner)
        return self._norm(layer.down(inner).float() + hidden, layer.norm2)


class _Packing:
    """Moves between padded ``(batch, length, C)`` tensors and packed ``(real tokens, C)`` rows.

    Everything but attention runs on the packed rows, so padding costs no matrix products. With
    left padding (the first column masked) nothing is packed and pad rows are computed, as in
    transformers; they never reach real tokens through the masked attention.
    """

    def __init__(self, attention_mask: torch.Tensor) -> None:
        self.batch, self.length = attention_mask.shape
        self.padding: torch.Tensor | None = None  # additive mask, as transformers' eager attention
        self.rows: torch.Tensor | None = None
        self.firsts = torch.arange(self.batch) * self.length
        if bool(attention_mask.all()):
            return
        keep = attention_mask[:, None, None, :].to(torch.float32)
        self.padding = (1.0 - keep) * torch.finfo(torch.float32).min
        if bool(attention_mask[:, 0].all()):
            flat = attention_mask.reshape(-1).bool()
            self.rows = flat.nonzero().squeeze(1)
            lengths = attention_mask.sum(dim=1)
            self.firsts = torch.cumsum(lengths, 0) - lengths

    def pack(self, padded: torch.Tensor) -> torch.Tensor:
        flat = padded.reshape(self.batch * self.length, padded.shape[-1])
        return flat if self.rows is None else flat.index_select(0, self.rows)

    def unpack(self, packed: torch.Tensor) -> torch.Tensor:
        if self.rows is None:
            return packed.view(self.batch, self.length, packed.shape[-1])
        padded = packed.new_zeros(self.batch * self.length, packed.shape[-1])
        padded.index_copy_(0, self.rows, packed)
        return padded.view(self.batch, self.length, packed.shape[-1])


def multi_head_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, padding: torch.Tensor | None, heads: int
) -> torch.Tensor:
    """Multi-head scaled dot-product attention; softmax in fp32, the products in the input dtype."""
    batch, q_len, width = query.shape
    size = width // heads
    q = query.reshape(batch, q_len, heads, size).transpose(1, 2)
    k = key.reshape(batch, -1, heads, size).transpose(1, 2)
    v = value.reshape(batch, -1, heads, size).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2))
    if scores.dtype != torch.float32:  # a Python-level check: no cast node in an exported fp32 graph
        scores = scores.float()
    scores = scores * (1.0 / math.sqrt(size))
    if padding is not None:
        scores = scores + padding
    probs = scores.softmax(dim=-1)
    if probs.dtype != v.dtype:
        probs = probs.to(v.dtype)
    return torch.matmul(probs, v).transpose(1, 2).reshape(batch, q_len, width)


def weights_signature(model: Any) -> int:
    """Changes whenever a parameter is replaced or modified in place (cheap: no tensor reads).

    Example:
        >>> lin = torch.nn.Linear(2, 2)
        >>> before = weights_signature(lin)
        >>> _ = lin.weight.data.mul_(2)
        >>> weights_signature(lin) != before
        True
    """
    return hash(tuple((id(p), p._version) for p in model.parameters()))


def model_shape(model: Any) -> BertShape:
    """The :class:`BertShape` of a transformers BERT model (its own activation module unless GELU).

    Example:
        >>> model_shape(model).layers  # doctest: +SKIP
        12
    """
    config, encoder = model.config, model.bert.encoder
    activation = None if config.hidden_act == "gelu" else encoder.layer[0].intermediate.intermediate_act_fn
    eps = float(model.bert.embeddings.LayerNorm.eps)
    return BertShape(len(encoder.layer), int(config.num_attention_heads), eps, activation)


def build_fast_forward(model: Any, dtype: torch.dtype = torch.float32) -> FastBertForward | None:
    """A checked :class:`FastBertForward` for ``model``, or None when it is unsupported.

    The check runs a small padded batch through both forwards; a mismatch beyond float noise
    logs a warning and returns None, so callers keep the plain transformers forward.

    Example:
        >>> build_fast_forward(torch.nn.Linear(2, 2)) is None
        True
    """
    reason = unsupported_reason(model)
    if reason is not None:
        logger.debug("fast CPU forward not used: %s", reason)
        return None
    fast = FastBertForward(dict(model.named_parameters()), model_shape(model), dtype)
    ids, mask = _probe_batch(model.config)
    with torch.inference_mode():
        expected = model(input_ids=ids, attention_mask=mask).logits.float()
        got = fast(ids, mask)
    error = float((got - expected).abs().max()) / max(1.0, float(expected.abs().max()))
    if not error <= _TOLERANCE[dtype]:
        logger.warning("fast CPU forward disabled: its logits differ from transformers by %.3g", error)
        return None
    return fast


def _probe_batch(config: Any) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, config.vocab_size, (3, 9), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[2, 3:] = 0
    ids[mask == 0] = config.pad_token_id or 0
    return ids, mask
