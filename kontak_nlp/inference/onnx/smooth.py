"""SmoothQuant-style smoothing of the feed-forward output projections before dynamic int8.

Dynamic int8 gives each activation tensor a single scale. The inputs of each layer's feed-forward
output projection (the GELU outputs) have a few channels hundreds of times larger than the rest
(max/mean up to ~580 in multilingual-e5-small), so one scale erases the small channels and most of
the int8 error comes from these 12 products. Smoothing divides input channel ``j`` by ``s_j`` and
multiplies weight column ``j`` by ``s_j``: the fp32 result is unchanged, the activation becomes
easy to quantize and the weight, quantized per output channel, absorbs the range
(Xiao et al., 2023, "SmoothQuant"). ``s_j = max|x_j|^a / max|W_:,j|^(1-a)``, with ``a = 0.8``.

The scales come from one fp32 pass over 512 shipped corpus sentences (:func:`calibration_texts`);
the extra per-channel multiply costs nothing measurable next to the int8 products.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

import torch

SMOOTH_ALPHA = 0.8
# the feed-forward output projection of layer N in BERT / RoBERTa / XLM-R naming
_FFN_DOWN = re.compile(r"(^|\.)layer\.\d+\.output\.dense$")


class SmoothedLinear(torch.nn.Module):
    """``linear(x / s)`` where ``linear``'s weight columns were multiplied by ``s``: same output."""

    def __init__(self, linear: torch.nn.Linear, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("inv_scale", (1.0 / scale).to(linear.weight.dtype))
        self.linear = linear
        with torch.no_grad():
            self.linear.weight.mul_(scale.to(linear.weight.dtype)[None, :])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inv_scale)


def calibration_texts() -> list[str]:
    """The 512 corpus sentences shipped for int8 calibration (``training/make_calibration_set.py``).

    Example:
        >>> len(calibration_texts())
        512
    """
    text = resources.files("kontak_nlp").joinpath("resources/calibration.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def ffn_down_modules(model: torch.nn.Module) -> dict[str, torch.nn.Linear]:
    """The feed-forward output projections (``layer.N.output.dense``) of an encoder, by name.

    Example:
        >>> sorted(ffn_down_modules(model))[:1]  # doctest: +SKIP
        ['bert.encoder.layer.0.output.dense']
    """
    return {
        name: module
        for name, module in model.named_modules()
        if _FFN_DOWN.search(name) and type(module) is torch.nn.Linear
    }


def input_absmax(
    model: torch.nn.Module, tokenizer: Any, texts: Sequence[str], modules: dict[str, torch.nn.Linear]
) -> dict[str, torch.Tensor]:
    """Per-input-channel max ``|x|`` of each module in ``modules`` over ``texts`` (fp32 forward)."""
    from kontak_nlp.inference.torch_backend import Classifier

    stats: dict[str, torch.Tensor] = {}

    def recorder(name: str) -> Any:
        def hook(_module: Any, args: tuple[torch.Tensor, ...]) -> None:
            current = args[0].detach().abs().reshape(-1, args[0].shape[-1]).amax(dim=0).float()
            stats[name] = torch.maximum(stats[name], current) if name in stats else current

        return hook

    handles = [module.register_forward_pre_hook(recorder(name)) for name, module in modules.items()]
    # the plain forward: the fast CPU path uses packed weight copies and would bypass the hooks
    runner = Classifier(model, tokenizer, device="cpu", precision="fp32", fast_path=False)
    try:
        runner.predict_logits(list(texts), batch_size=32, show_progress_bar=False)
    finally:
        for handle in handles:
            handle.remove()
    return stats


def smooth_for_int8(
    model: torch.nn.Module, tokenizer: Any, texts: Sequence[str] | None = None, alpha: float = SMOOTH_ALPHA
) -> torch.nn.Module:
    """Smooth ``model``'s feed-forward output projections for int8, in place; returns ``model``.

    The model computes the same function afterwards (to float rounding). Models without
    ``layer.N.output.dense`` modules are left unchanged. ``texts`` defaults to
    :func:`calibration_texts`.

    Example:
        >>> model = smooth_for_int8(clf.model, clf.tokenizer)  # doctest: +SKIP
    """
    modules = ffn_down_modules(model)
    if not modules:
        return model
    stats = input_absmax(model, tokenizer, texts if texts is not None else calibration_texts(), modules)
    for name, linear in modules.items():
        act = stats[name].clamp(min=1e-5)
        weight = linear.weight.detach().abs().amax(dim=0).clamp(min=1e-5)
        scale = act.pow(alpha) / weight.pow(1.0 - alpha)
        scale = scale / scale.log().mean().exp()  # geometric mean 1 keeps magnitudes familiar
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, SmoothedLinear(linear, scale))
    return model


def smoothed_copy(
    model: torch.nn.Module, tokenizer: Any, texts: Sequence[str] | None = None, alpha: float = SMOOTH_ALPHA
) -> torch.nn.Module:
    """A CPU fp32 copy of ``model`` smoothed by :func:`smooth_for_int8`; ``model`` is not modified.

    Example:
        >>> smoothed = smoothed_copy(clf.model, clf.tokenizer)  # doctest: +SKIP
    """
    return smooth_for_int8(copy.deepcopy(model).float().cpu().eval(), tokenizer, texts, alpha)
