"""Training configuration: one dataclass, validated, saved next to the weights, overridable by CLI."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from kontak_nlp.inference.context import CONTEXT_MODES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_METHODS = ("lora", "full")
_SAVE_FORMATS = ("merged", "adapter", "both")
#: Models ``add_to`` can extend with new labels: the shipped default model and its corpus.
ADD_TO = ("default",)


@dataclass
class TrainConfig:
    """Everything that defines a training run. Saved as ``training_args.json`` with the model.

    Attributes:
        output_dir: Where the trained model (and ``checkpoints/``) is written.
        base: ``"default"`` (the embedded multilingual-e5-small), a local HF directory or a hub id
            such as ``"indobenchmark/indobert-base-p1"``.
        from_model: Warm-start from a trained kontak/HF classifier: its encoder is kept, head rows of
            labels that still exist are kept, new labels get fresh rows.
        labels: The ordered label set; ``None`` takes it from the training data.
        text_column / label_column / group_column: Column names; ``group_column`` (e.g. the article id)
            keeps groups together when a dev split is carved out of the training data.
        method: ``"lora"`` (PEFT LoRA adapters + a trained head) or ``"full"`` fine-tuning.
        lora_r / lora_alpha / lora_dropout: LoRA hyper-parameters.
        freeze_embeddings: With ``method="full"``, keep the embedding layer (for e5-small 96M of its
            117M parameters, one row per vocabulary piece) as pretrained and train the rest, so pieces
            the training data never shows stay consistent with the ones it does.
        epochs, lr, batch_size, max_length, weight_decay, warmup_ratio, seed: The usual. ``None``
            (the default for ``epochs``, ``lr`` and ``batch_size``) chooses a value from the size of
            the training data (see :func:`kontak_nlp.training.plan.plan_training`); the values used are
            saved in ``training_args.json``.
        class_weighting: ``"balanced"`` weights the loss by inverse class frequency, ``"none"`` does not.
        label_smoothing: Share of each target's probability spread evenly over all labels in the loss
            (0 = plain cross-entropy); a regulariser against over-confident scores.
        early_stopping_patience: Epochs without dev macro-F1 improvement before stopping (0 = off;
            None: 2 when the dev split is large enough to select on, else off).
        dev_fraction: Share of training groups held out as dev when no dev data is given.
        min_dev_rows: The smallest dev split carved out of the training data (None: 2 per label, at
            least 6). Data too small to keep it and 2 training rows per label is refused.
        calibrate: Fit a temperature on dev and store it in the model config (skipped, with a
            warning, when dev has fewer than ``min_calibration_rows`` rows).
        min_calibration_rows: Dev rows needed to fit the calibration temperature.
        save_format: ``"adapter"`` (LoRA adapters and head, a few MB; needs the base encoder, which for
            ``base="default"`` is embedded), ``"merged"`` (plain HF directory, ~470 MB for e5-small,
            loads with ``transformers.pipeline``) or ``"both"``. None: ``"adapter"`` for LoRA from a
            base encoder, else ``"merged"``.
        keep_checkpoints: Keep ``output_dir/checkpoints`` after a finished run (they are always kept
            when training is interrupted, for ``resume``).
        add_to: ``"default"``: train the shipped model's four labels plus the labels of your data, on
            the shipped corpus (train and dev splits) and your rows together.
        num_threads: torch CPU threads (None leaves torch's default).
        context: ``"none"`` (sentences alone) or ``"article"``: each sentence is read with its article's
            headline and previous sentence as a second segment (needs ``group_column`` and
            ``order_column`` in the data); the model then uses context in ``classify_article``.
        context_dropout: Share of training rows whose context is blanked, so bare sentences still work.
        order_column: Column with each sentence's position in its article (0 = headline).

    Example:
        >>> cfg = TrainConfig(output_dir="runs/demo", epochs=2)
        >>> TrainConfig.from_dict(cfg.to_dict()) == cfg
        True
    """

    output_dir: str = "runs/model"
    base: str = "default"
    from_model: str | None = None
    labels: list[str] | None = None
    text_column: str = "text"
    label_column: str = "label"
    group_column: str | None = "article_id"
    method: str = "lora"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    freeze_embeddings: bool = False
    epochs: float | None = None
    lr: float | None = None
    batch_size: int | None = None
    max_length: int = 128
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    seed: int = 42
    class_weighting: str = "balanced"
    label_smoothing: float = 0.0
    early_stopping_patience: int | None = None
    dev_fraction: float = 0.1
    min_dev_rows: int | None = None
    calibrate: bool = True
    min_calibration_rows: int = 40
    save_format: str | None = None
    keep_checkpoints: bool = False
    add_to: str | None = None
    num_threads: int | None = None
    context: str = "none"
    context_dropout: float = 0.3
    order_column: str = "sent_idx"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checks = [
            (self.method in _METHODS, f"method must be one of {_METHODS}, got {self.method!r}"),
            (self.save_format in (None, *_SAVE_FORMATS), f"save_format must be one of {_SAVE_FORMATS}"),
            (self.class_weighting in ("balanced", "none"), "class_weighting must be 'balanced' or 'none'"),
            (
                0 <= self.label_smoothing < 1,
                f"label_smoothing must be in [0, 1), got {self.label_smoothing}",
            ),
            (self.epochs is None or self.epochs > 0, f"epochs must be > 0, got {self.epochs}"),
            (self.lr is None or self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (
                self.batch_size is None or self.batch_size >= 1,
                f"batch_size must be >= 1, got {self.batch_size}",
            ),
            (8 <= self.max_length <= 512, f"max_length must be in [8, 512], got {self.max_length}"),
            (0 < self.dev_fraction < 0.5, f"dev_fraction must be in (0, 0.5), got {self.dev_fraction}"),
            (
                self.early_stopping_patience is None or self.early_stopping_patience >= 0,
                "early_stopping_patience must be >= 0",
            ),
            (self.min_dev_rows is None or self.min_dev_rows >= 1, "min_dev_rows must be >= 1"),
            (self.min_calibration_rows >= 1, "min_calibration_rows must be >= 1"),
            (self.add_to in (None, *ADD_TO), f"add_to must be one of {ADD_TO} or None, got {self.add_to!r}"),
            (
                not (self.from_model and self.save_format in ("adapter", "both")),
                "save_format='adapter' needs a base encoder; a warm start (from_model) saves 'merged'",
            ),
            (
                not (self.freeze_embeddings and self.method != "full"),
                "freeze_embeddings applies to method='full' (LoRA leaves the whole encoder frozen)",
            ),
            (self.context in CONTEXT_MODES, f"context must be one of {CONTEXT_MODES}, got {self.context!r}"),
            (
                0 <= self.context_dropout <= 1,
                f"context_dropout must be in [0, 1], got {self.context_dropout}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"TrainConfig: {message}")
        if isinstance(self.labels, str):
            self.labels = None if self.labels == "auto" else [s.strip() for s in self.labels.split(",")]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict; unknown keys raise ``ValueError`` naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"TrainConfig: unknown field(s) {unknown}; known fields: {sorted(known)}")
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
        """Read a ``.toml`` (its ``[train]`` table) or ``.json`` file, then apply ``key=value`` overrides.

        Example:
            >>> TrainConfig.from_file("training/configs/news4.toml", ["train.lr=3e-5"]).lr  # doctest: +SKIP
            3e-05
        """
        path = Path(path)
        if path.suffix == ".toml":
            values = tomllib.loads(path.read_text(encoding="utf-8")).get("train", {})
        else:
            values = json.loads(path.read_text(encoding="utf-8"))
        return cls.from_dict(apply_overrides(values, overrides or []))

    def save(self, path: str | Path) -> Path:
        """Write the config as JSON."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path


def apply_overrides(values: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``train.lr=3e-5``-style overrides; values are parsed as TOML scalars when possible.

    Example:
        >>> apply_overrides({"lr": 1e-4}, ["train.lr=3e-5", "labels=['a','b']"])
        {'lr': 3e-05, 'labels': ['a', 'b']}
    """
    result = dict(values)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} must look like key=value")
        key = key.strip().removeprefix("train.")
        result[key] = _parse_scalar(raw.strip())
    return result


def _parse_scalar(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
