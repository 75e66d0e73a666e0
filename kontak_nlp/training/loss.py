"""A ``transformers.Trainer`` with a class-weighted loss, and the dev metrics it reports each epoch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import Trainer


class WeightedLossTrainer(Trainer):
    """``Trainer`` whose loss is cross-entropy weighted by per-class weights, optionally label-smoothed."""

    def __init__(
        self,
        *args: Any,
        class_weights: np.ndarray | None = None,
        label_smoothing: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.label_smoothing = label_smoothing
        self.class_weights = (
            None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        )

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        weight = None if self.class_weights is None else self.class_weights.to(outputs.logits.device)
        loss = torch.nn.functional.cross_entropy(
            outputs.logits.float(), labels, weight=weight, label_smoothing=self.label_smoothing
        )
        return (loss, outputs) if return_outputs else loss


def compute_metrics(eval_pred: Any) -> dict[str, float]:
    """Accuracy and macro-F1 on the dev split (scikit-learn)."""
    from sklearn.metrics import accuracy_score, f1_score

    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    predicted = np.asarray(logits).argmax(axis=-1)
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro", zero_division=0)),
    }
