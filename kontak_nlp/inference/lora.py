"""Merging saved LoRA adapters into their base model without importing ``peft``.

Importing ``peft`` costs several seconds, which the first ``classify()`` of a process would pay
for every adapter directory, the shipped default model included. Plain LoRA (the kind
``kontak_nlp.train`` writes) merges as ``W += B @ A * lora_alpha / r``, and the saved
``modules_to_save`` weights (the head, the pooler) replace the base's. Anything else (DoRA,
rank patterns, fan-in-fan-out layers...) is left to ``peft``: :func:`merge_plain_lora` returns False.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

_PREFIX = "base_model.model."
#: adapter_config.json settings under which the merge above is exactly what peft computes.
_PLAIN = {
    "peft_type": ("LORA",),
    "use_dora": (False, None),
    "fan_in_fan_out": (False, None),
    "bias": ("none", None),
    "lora_bias": (False, None),
    "rank_pattern": ({}, None),
    "alpha_pattern": ({}, None),
    "layer_replication": (None,),
    "trainable_token_indices": (None,),
    "use_qalora": (False, None),
}


def is_plain_lora(config: dict[str, Any]) -> bool:
    """Whether an ``adapter_config.json`` describes plain LoRA that :func:`merge_plain_lora` handles.

    Example:
        >>> is_plain_lora({"peft_type": "LORA", "r": 8, "lora_alpha": 16}), is_plain_lora({"use_dora": True})
        (True, False)
    """
    return all(config.get(key, allowed[-1]) in allowed for key, allowed in _PLAIN.items())


def read_plain_lora(adapter_dir: Path) -> tuple[dict[str, Any], float] | None:
    """``(saved tensors, LoRA scale)`` of a plain-LoRA adapter directory; None for other adapters.

    Example:
        >>> weights, scale = read_plain_lora(Path("kontak_nlp/models/news4"))  # doctest: +SKIP
        >>> scale
        2.0
    """
    from safetensors.torch import load_file

    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    if not is_plain_lora(config):
        return None
    weights = load_file(str(adapter_dir / "adapter_model.safetensors"))
    return weights, config["lora_alpha"] / (
        math.sqrt(config["r"]) if config.get("use_rslora") else config["r"]
    )


def merge_plain_lora(model: Any, adapter_dir: Path) -> bool:
    """Merge the adapters of ``adapter_dir`` into ``model`` in place; False (model untouched) if the
    adapter is not plain LoRA or names a module the model lacks.

    Example:
        >>> merge_plain_lora(model, Path("kontak_nlp/models/news4"))  # doctest: +SKIP
        True
    """
    merged = merge_plain_lora_tensors(dict(model.named_parameters()), adapter_dir, add_missing=False)
    return merged is not None


def merge_plain_lora_tensors(
    tensors: dict[str, Any], adapter_dir: Path, *, add_missing: bool = True
) -> list[str] | None:
    """Merge the adapters of ``adapter_dir`` into named tensors in place (``bert.encoder...`` names,
    as in the model's ``state_dict``); returns the names changed or added, or None (tensors
    untouched) as :func:`merge_plain_lora` returns False.

    With ``add_missing`` a saved ``modules_to_save`` tensor with no counterpart (the head and pooler
    a bare encoder lacks) is added to ``tensors``; a LoRA pair still needs its base weight.

    Example:
        >>> merge_plain_lora_tensors(state_dict, Path("kontak_nlp/models/news4"))[-1]  # doctest: +SKIP
        'classifier.weight'
    """
    import torch

    adapter = read_plain_lora(adapter_dir)
    if adapter is None:
        return None
    weights, scale = adapter
    updates = _plan(tensors, weights, add_missing)
    if updates is None:
        return None
    with torch.no_grad():
        for name, kind, tensor in updates:
            if kind == "lora":
                a, b = tensor
                tensors[name].add_((b.float() @ a.float() * scale).to(tensors[name].dtype))
            elif name in tensors:
                tensors[name].copy_(tensor.to(tensors[name].dtype))
            else:
                tensors[name] = tensor.clone()
    return [name for name, _, _ in updates]


def _plan(
    params: dict[str, Any], weights: dict[str, Any], add_missing: bool
) -> list[tuple[str, str, Any]] | None:
    """``(name, "lora" | "copy", tensor(s))`` for every saved tensor; None if one has no target."""
    updates = []
    for key, tensor in weights.items():
        name = key.removeprefix(_PREFIX)
        if name.endswith(".lora_B.weight"):
            continue
        if name.endswith(".lora_A.weight"):
            module = name.removesuffix(".lora_A.weight")
            b = weights.get(key.replace(".lora_A.weight", ".lora_B.weight"))
            target = params.get(f"{module}.weight")
            if b is None or target is None or target.shape != (b.shape[0], tensor.shape[1]):
                return None
            updates.append((f"{module}.weight", "lora", (tensor, b)))
            continue
        name = name.replace(".modules_to_save.default.", ".")
        target = params.get(name)
        if (target is None and not add_missing) or (target is not None and target.shape != tensor.shape):
            return None
        updates.append((name, "copy", tensor))
    return updates
