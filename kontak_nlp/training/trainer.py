"""Fine-tuning: :func:`train` turns labeled sentences into a saved :class:`~kontak_nlp.Classifier`.

It uses ``transformers.Trainer`` (per-epoch dev metrics, checkpoints, early stopping, resume) with a
class-weighted loss, optional PEFT LoRA adapters, warm starts onto new label sets, and temperature
calibration on the dev split.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from kontak_nlp.errors import DataError
from kontak_nlp.inference import model_io as _model_io
from kontak_nlp.inference.torch_backend import Classifier
from kontak_nlp.training.config import TrainConfig
from kontak_nlp.training.datasets import prepare_datasets
from kontak_nlp.training.plan import TrainPlan, dev_checks, plan_training

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
_LORA_TARGETS = (
    r".*encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense"
    r"|intermediate\.dense|output\.dense)"
)


def train(config: TrainConfig, train_data: Any, eval_data: Any = None, *, resume: bool = False) -> Classifier:
    """Fine-tune a classifier and save it to ``config.output_dir``.

    Settings left at ``None`` in ``config`` (epochs, learning rate, batch size, early stopping, save
    format) are chosen from the size of the data (:func:`kontak_nlp.training.plan.plan_training`) and
    logged. After training, the dev predictions are checked: a model that answers one label for
    everything, or is no better than the most frequent label, is reported with a warning (in the log
    and in the model card). The calibration temperature is fitted only on a dev split of at least
    ``config.min_calibration_rows`` rows and kept only if it is not at a bound of its search range.

    Args:
        config: The run's :class:`TrainConfig`.
        train_data: A file/directory (JSONL, CSV, Parquet), ``datasets.Dataset``, DataFrame or list of dicts.
        eval_data: Dev data in the same forms; None carves ``config.dev_fraction`` of the training
            groups (``config.group_column``) out as dev, at least ``min_dev_rows`` rows.
        resume: Continue from the last checkpoint in ``output_dir/checkpoints``.

    Raises:
        DataError: Before any training, for a missing column, empty text, unknown label, a label
            with fewer than 2 examples, a single class, data too small to hold out a dev split, or
            an output directory that is not writable.

    Example:
        >>> from kontak_nlp import TrainConfig, train
        >>> clf = train(TrainConfig(output_dir="runs/demo", epochs=1), "my_labels.jsonl")  # doctest: +SKIP
    """
    out = _prepare_output_dir(Path(config.output_dir), resume=resume)
    if config.num_threads:
        import torch

        torch.set_num_threads(config.num_threads)
    train_ds, dev_ds, labels = prepare_datasets(config, train_data, eval_data)
    plan = plan_training(config, train_ds.num_rows, dev_ds.num_rows, len(labels))
    config = plan.config
    for note in plan.notes:
        logger.info("%s", note)
    from transformers import set_seed

    set_seed(config.seed)  # new head rows and LoRA weights are drawn before the Trainer seeds
    model, tokenizer = build_model(config, labels)
    trainer = _build_trainer(plan, model, tokenizer, train_ds, dev_ds, labels, out)
    try:
        trainer.train(resume_from_checkpoint=_last_checkpoint(out) if resume else None)
    except KeyboardInterrupt:
        logger.warning(
            "interrupted; checkpoints are in %s; rerun with --resume to continue", out / CHECKPOINT_DIR
        )
        raise
    clf = Classifier(trainer.model, tokenizer, device="cpu" if trainer.args.use_cpu else "auto")
    if config.context != "none":
        from kontak_nlp.inference.context import CONFIG_KEY

        setattr(clf.model.config, CONFIG_KEY, config.context)
    history = [entry for entry in trainer.state.log_history if "eval_macro_f1" in entry]
    warnings = _check_dev(clf, dev_ds, config, labels)
    _save(clf, config, out, labels, history, [*plan.notes, *warnings])
    if not config.keep_checkpoints:
        shutil.rmtree(out / CHECKPOINT_DIR, ignore_errors=True)
    return clf


def _prepare_output_dir(out: Path, *, resume: bool) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write_test"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as err:
        raise DataError(f"{out}: output directory is not writable ({err})") from err
    if resume and _last_checkpoint(out) is None:
        raise DataError(f"{out / CHECKPOINT_DIR}: --resume given but no checkpoint found")
    return out


def _last_checkpoint(out: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    folder = out / CHECKPOINT_DIR
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def build_model(config: TrainConfig, labels: list[str]) -> tuple[Any, Any]:
    """Load the base encoder (or warm-start model) with a head for ``labels``; wrap in LoRA if asked."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from kontak_nlp.backbone import resolve_base

    if config.from_model:
        from kontak_nlp.inference.loader import model_source

        model, tokenizer = _model_io.load_model_and_tokenizer(model_source(config.from_model))
        model = rehead(model, labels)
    else:
        base = resolve_base(config.base)
        tokenizer = AutoTokenizer.from_pretrained(base, trust_remote_code=False)
        id2label = dict(enumerate(labels))
        with _model_io.quiet_transformers():
            model = AutoModelForSequenceClassification.from_pretrained(
                base,
                num_labels=len(labels),
                id2label=id2label,
                label2id={v: k for k, v in id2label.items()},
                use_safetensors=True,
                ignore_mismatched_sizes=True,
                trust_remote_code=False,
            )
        model.config.kontak_base = config.base
    if config.method == "lora":
        model = _wrap_lora(model, config)
    elif config.freeze_embeddings:
        model.base_model.embeddings.requires_grad_(False)
    return model, tokenizer


def rehead(model: Any, labels: list[str]) -> Any:
    """Give ``model`` a head for ``labels``: rows of labels it already knows are kept, others are new.

    Example:
        >>> model = rehead(model, ["meeting_report", "offer", "demand"])  # doctest: +SKIP
    """
    import torch

    old_labels = _model_io.ordered_labels(model.config)
    head = model.classifier if isinstance(model.classifier, torch.nn.Linear) else model.classifier.out_proj
    new = torch.nn.Linear(head.in_features, len(labels), dtype=head.weight.dtype)
    std = getattr(model.config, "initializer_range", 0.02)
    with torch.no_grad():
        new.weight.normal_(0.0, std)
        new.bias.zero_()
        for row, name in enumerate(labels):
            if name in old_labels:
                new.weight[row] = head.weight[old_labels.index(name)]
                new.bias[row] = head.bias[old_labels.index(name)]
    if isinstance(model.classifier, torch.nn.Linear):
        model.classifier = new
    else:
        model.classifier.out_proj = new
    kept = [name for name in labels if name in old_labels]
    logger.info(
        "warm start: kept head rows for %s, new rows for %s", kept, [n for n in labels if n not in kept]
    )
    model.config.calibration_temperature = None  # the old head's calibration does not carry over
    model.num_labels = model.config.num_labels = len(labels)
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {name: i for i, name in enumerate(labels)}
    return model


def _wrap_lora(model: Any, config: TrainConfig) -> Any:
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=_LORA_TARGETS,
        modules_to_save=["classifier", "pooler"],
    )
    model = get_peft_model(model, lora)
    trainable, total = model.get_nb_trainable_parameters()
    logger.info("LoRA: %d trainable parameters of %d (%.2f%%)", trainable, total, 100 * trainable / total)
    return model


def _class_weights(train_ds: Any, n_labels: int, scheme: str) -> np.ndarray:
    counts = np.bincount(np.asarray(train_ds["labels"]), minlength=n_labels).astype(np.float64)
    if scheme == "none":
        return np.ones(n_labels, dtype=np.float32)
    weights = counts.sum() / (n_labels * np.maximum(counts, 1.0))
    return weights.astype(np.float32)


def _build_trainer(
    plan: TrainPlan, model: Any, tokenizer: Any, train_ds: Any, dev_ds: Any, labels: list[str], out: Path
) -> Any:
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, TrainingArguments

    from kontak_nlp.inference.context import encode
    from kontak_nlp.training.loss import WeightedLossTrainer, compute_metrics

    config = plan.config

    def tokenize(batch: dict[str, list[Any]]) -> dict[str, Any]:
        ids = encode(tokenizer, batch["text"], batch.get("context"), config.max_length)
        return {"input_ids": ids, "attention_mask": [[1] * len(row) for row in ids]}

    drop = [c for c in ("text", "context") if c in train_ds.column_names]
    train_tok = train_ds.map(tokenize, batched=True, remove_columns=drop)
    dev_tok = dev_ds.map(tokenize, batched=True, remove_columns=drop)
    use_cpu = not _cuda_available()
    args = TrainingArguments(
        output_dir=str(out / CHECKPOINT_DIR),
        num_train_epochs=config.epochs,
        learning_rate=config.lr,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=max(64, config.batch_size),
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,
        seed=config.seed,
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=plan.select_on_dev or bool(config.early_stopping_patience),
        metric_for_best_model="macro_f1",
        greater_is_better=True,
        train_sampling_strategy="group_by_length",
        report_to="none",
        use_cpu=use_cpu,
        bf16=bool(config.extra.get("bf16", False)),
        dataloader_num_workers=0,
    )
    callbacks = (
        [EarlyStoppingCallback(config.early_stopping_patience)] if config.early_stopping_patience else []
    )
    return WeightedLossTrainer(
        model=model,
        args=args,
        train_dataset=train_tok,
        eval_dataset=dev_tok,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
        callbacks=callbacks,
        class_weights=_class_weights(train_ds, len(labels), config.class_weighting),
        label_smoothing=config.label_smoothing,
    )


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available() and os.environ.get("CUDA_VISIBLE_DEVICES", "x") != ""


def _check_dev(clf: Classifier, dev_ds: Any, config: TrainConfig, labels: list[str]) -> list[str]:
    """Warn about a collapsed or useless model on dev, then calibrate when dev is large enough."""
    context = dev_ds["context"] if "context" in dev_ds.column_names else None
    logits = clf.predict_logits(dev_ds["text"], context=context, batch_size=64)
    gold = np.asarray(dev_ds["labels"])
    warnings = dev_checks(logits.argmax(axis=1), gold, labels)
    if config.calibrate:
        warnings += _calibrate(clf, logits, gold, config)
    for warning in warnings:
        logger.warning("%s", warning)
    return warnings


def _calibrate(clf: Classifier, logits: np.ndarray, gold: np.ndarray, config: TrainConfig) -> list[str]:
    """Fit the temperature on dev logits; returns why calibration was skipped, if it was."""
    from kontak_nlp.evaluation.calibration import checked_temperature

    temperature, skipped = checked_temperature(logits, gold, min_rows=config.min_calibration_rows)
    if skipped:
        return [skipped]
    clf.model.config.calibration_temperature = temperature
    logger.info("temperature scaling on %d dev rows: T = %.3f", len(gold), temperature)
    return []


def _save(
    clf: Classifier, config: TrainConfig, out: Path, labels: list[str], history: list[dict], notes: list[str]
) -> None:
    from kontak_nlp.training.model_card import write_model_card

    targets = {
        "merged": [(out, True)],
        "adapter": [(out, False)],
        "both": [(out, True), (out / "adapter", False)],
    }
    for directory, merged in targets[config.save_format]:
        clf.save_pretrained(directory, merged=merged)
        config.save(directory / "training_args.json")
        (directory / "train_history.json").write_text(json.dumps(history, indent=2) + "\n", encoding="utf-8")
        write_model_card(directory, config, labels, history=history, notes=notes)
        from kontak_nlp.checksums import write_checksums

        write_checksums(directory)
