"""The BERT classifier forward written for ONNX export: the last layer computes the first token only.

The classification head reads only the first token's final hidden state, so the last layer's
query, attention output and feed-forward products are run for that token alone (about 1/13 of
the encoder's work saved), as in :mod:`kontak_nlp.inference.fast_bert`. Everything else calls the model's
own submodules, so replaced modules (the int8 smoothing of :mod:`kontak_nlp.inference.onnx.smooth`)
are exported as they are. Logits equal the transformers forward to float rounding; the ONNX tests
compare them.
"""

from __future__ import annotations

from typing import Any

import torch


def supports_first_token_graph(model: Any) -> bool:
    """True for a plain ``BertForSequenceClassification`` (absolute positions, a pooler, encoder only).

    Example:
        >>> supports_first_token_graph(torch.nn.Linear(2, 2))
        False
    """
    from kontak_nlp.inference.fast_bert import architecture_issue

    return architecture_issue(model) is None


class FirstTokenLogits(torch.nn.Module):
    """``(input_ids, attention_mask) -> logits`` of a BERT classifier, last layer on the first token.

    Example:
        >>> graph = FirstTokenLogits(clf.model)  # doctest: +SKIP
        >>> graph(ids, mask).shape  # doctest: +SKIP
        torch.Size([2, 4])
    """

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        bert = self.inner.bert
        hidden = bert.embeddings(input_ids=input_ids)
        keep = attention_mask[:, None, None, :].to(hidden.dtype)
        padding = (1.0 - keep) * torch.finfo(hidden.dtype).min
        layers = list(bert.encoder.layer)
        for layer in layers[:-1]:
            hidden = _layer(layer, hidden, hidden, padding)
        hidden = _layer(layers[-1], hidden[:, :1], hidden, padding)
        return self.inner.classifier(self.inner.dropout(bert.pooler(hidden)))


def _layer(layer: Any, queries: torch.Tensor, hidden: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
    """One BERT layer whose outputs are computed for ``queries`` rows, attending over ``hidden``."""
    from kontak_nlp.inference.fast_bert import multi_head_attention

    attention = layer.attention.self
    query, key, value = attention.query(queries), attention.key(hidden), attention.value(hidden)
    context = multi_head_attention(query, key, value, padding, attention.num_attention_heads)
    attended = layer.attention.output(context, queries)
    return layer.output(layer.intermediate(attended), attended)
