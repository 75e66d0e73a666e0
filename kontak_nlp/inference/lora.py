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


def merge_plain_lora(model: Any, adapter_dir: Path) -> bool:
    """Merge the adapters of ``adapter_dir`` into ``model`` in place; False (model untouched) if the
    adapter is not plain LoRA or names a module the model lacks.

    Example:
        >>> merge_plain_lora(model, Path("kontak_nlp/models/news4"))  # doctest: +SKIP
        True
    """
    import torch
    from safetensors.torch import load_file

    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    if not is_plain_lora(config):
        return False
    weights = load_file(str(adapter_dir / "adapter_model.safetensors"))
    scale = config["lora_alpha"] / (math.sqrt(config["r"]) if config.get("use_rslora") else config["r"])
    updates = _plan(model, weights)
    if updates is None:
        return False
    with torch.no_grad():
        for target, kind, tensor in updates:
            if kind == "lora":
                a, b = tensor
                target.add_((b.float() @ a.float() * scale).to(target.dtype))
            else:
                target.copy_(tensor.to(target.dtype))
    return True


def _plan(model: Any, weights: dict[str, Any]) -> list[tuple[Any, str, Any]] | None:
    """``(parameter, "lora" | "copy", tensor(s))`` for every saved tensor; None if one has no target."""
    params = dict(model.named_parameters())
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
            updates.append((target, "lora", (tensor, b)))
            continue
        name = name.replace(".modules_to_save.default.", ".")
        target = params.get(name)
        if target is None or target.shape != tensor.shape:
            return None
        updates.append((target, "copy", tensor))
    return updates
