"""Training settings chosen from the size of the data, and the checks that say when a run did not work.

:class:`~kontak_nlp.TrainConfig` leaves ``epochs``, ``lr``, ``batch_size``, ``early_stopping_patience``,
``min_dev_rows`` and ``save_format`` at ``None`` unless you set them; :func:`plan_training` fills them
in for the number of training and dev rows (30 rows need many short epochs at a higher learning
rate; 5,000 rows need a few long ones). :func:`dev_checks` looks at the dev predictions after
training and returns the warnings a user must see: a model that answers one label for everything,
or one no better than always answering the most frequent label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from kontak_nlp.training.config import TrainConfig

#: Dev rows needed before the best epoch is picked (and training stopped early) on dev macro-F1.
SELECT_MIN_DEV = 30
#: Optimizer steps a run should take at least; small data gets more epochs to reach them.
MIN_STEPS = 60
EPOCH_RANGE = (6, 20)


@dataclass(frozen=True)
class TrainPlan:
    """A config with every automatic setting filled in, and what was chosen and why.

    Attributes:
        config: The config the run uses (saved as ``training_args.json``).
        select_on_dev: Whether the best epoch is chosen on dev macro-F1 (else the last epoch is kept).
        notes: One line per automatic choice or overridden caution, for the log and the model card.
    """

    config: TrainConfig
    select_on_dev: bool
    notes: tuple[str, ...]


def min_dev_rows(config: TrainConfig, n_labels: int) -> int:
    """The smallest dev split to carve: ``config.min_dev_rows`` or 2 per label, at least 6.

    Example:
        >>> min_dev_rows(TrainConfig(), 3), min_dev_rows(TrainConfig(), 5)
        (6, 10)
    """
    return config.min_dev_rows or max(6, 2 * n_labels)


def plan_training(config: TrainConfig, n_train: int, n_dev: int, n_labels: int) -> TrainPlan:
    """Fill in the settings left at ``None`` from the number of training and dev rows.

    Example:
        >>> plan = plan_training(TrainConfig(), n_train=24, n_dev=6, n_labels=3)
        >>> plan.config.epochs, plan.config.batch_size, plan.config.lr, plan.select_on_dev
        (20, 8, 0.002, False)
        >>> big = plan_training(TrainConfig(), n_train=4300, n_dev=539, n_labels=4).config
        >>> big.epochs, big.batch_size, big.lr, big.early_stopping_patience
        (6, 32, 0.001, 2)
    """
    chosen: dict[str, object] = {}
    batch = config.batch_size or chosen.setdefault("batch_size", _batch_size(n_train))
    if config.epochs is None:
        steps_per_epoch = math.ceil(n_train / batch)
        chosen["epochs"] = min(max(math.ceil(MIN_STEPS / steps_per_epoch), EPOCH_RANGE[0]), EPOCH_RANGE[1])
    if config.lr is None:
        small = n_train < 500
        chosen["lr"] = (2e-3 if small else 1e-3) if config.method == "lora" else (1e-4 if small else 5e-5)
    select = n_dev >= SELECT_MIN_DEV
    notes = []
    if config.early_stopping_patience is None:
        chosen["early_stopping_patience"] = 2 if select else 0
    elif config.early_stopping_patience and not select:
        notes.append(
            f"early stopping on {n_dev} dev rows (fewer than {SELECT_MIN_DEV}) follows noise; "
            "consider early_stopping_patience=0"
        )
    if config.save_format is None:
        adapters = config.method == "lora" and not config.from_model
        chosen["save_format"] = "adapter" if adapters else "merged"
    if not select:
        notes.append(
            f"dev has {n_dev} rows (< {SELECT_MIN_DEV}): the last epoch is kept, not the best on dev"
        )
    if chosen:
        settings = ", ".join(f"{key}={value}" for key, value in chosen.items())
        notes.insert(0, f"chosen for {n_train} training rows and {n_labels} labels: {settings}")
    return TrainPlan(replace(config, **chosen), select, tuple(notes))


def _batch_size(n_train: int) -> int:
    return 8 if n_train < 200 else 16 if n_train < 1000 else 32


def dev_checks(predicted: np.ndarray, gold: np.ndarray, labels: list[str]) -> list[str]:
    """Warnings about a trained model's dev predictions (empty when nothing looks wrong).

    One label for every dev row is always reported; "no better than the most frequent label" only
    when dev has at least :data:`SELECT_MIN_DEV` rows (on fewer rows it is noise).

    Example:
        >>> (warning,) = dev_checks(np.array([0, 0, 0]), np.array([0, 1, 2]), ["a", "b", "c"])
        >>> print(warning)  # doctest: +ELLIPSIS
        the model answers 'a' for all 3 dev rows: it has not learned to tell the labels apart...
        >>> dev_checks(np.array([0, 1, 2]), np.array([0, 1, 2]), ["a", "b", "c"])
        []
    """
    predicted, gold = np.asarray(predicted), np.asarray(gold)
    if len(gold) == 0:
        return []
    answered = np.unique(predicted)
    if len(answered) == 1 and len(np.unique(gold)) > 1:
        return [
            f"the model answers {labels[int(answered[0])]!r} for all {len(gold)} dev rows: it has not "
            "learned to tell the labels apart. Give it more rows per label (20 or more), or more "
            "epochs (--epochs) or a higher learning rate (--lr), and check that the labels are right"
        ]
    majority = np.bincount(gold).max() / len(gold)
    accuracy = float(np.mean(predicted == gold))
    if accuracy <= majority and len(gold) >= SELECT_MIN_DEV:
        return [
            f"dev accuracy {accuracy:.2f} is no better than always answering the most frequent label "
            f"({majority:.2f}) on {len(gold)} dev rows; the model may not be useful"
        ]
    return []
