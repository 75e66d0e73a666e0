"""Training: :func:`~kontak_nlp.training.trainer.train` driven by one :class:`TrainConfig`, the
class-weighted loss, and the model card written next to the weights.

Example:
    >>> from kontak_nlp import TrainConfig, train
    >>> clf = train(TrainConfig(output_dir="runs/mine"), "my_labels.jsonl")  # doctest: +SKIP
"""
