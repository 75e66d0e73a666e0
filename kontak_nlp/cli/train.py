"""``kontak-nlp train``: fine-tune on a corpus or any JSONL/CSV/Parquet of (text, label)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

logger = logging.getLogger(__name__)

#: TrainConfig fields that have a flag of the same name (``--from-model`` sets ``from_model``).
_FIELD_FLAGS = (
    "base",
    "from_model",
    "labels",
    "text_column",
    "label_column",
    "group_column",
    "epochs",
    "lr",
    "batch_size",
    "seed",
    "max_length",
    "method",
    "freeze_embeddings",
    "label_smoothing",
    "save_format",
    "num_threads",
    "add_to",
    "early_stopping_patience",
    "keep_checkpoints",
)


def add_parser(subparsers: Any) -> None:
    """Register the ``train`` command."""
    parser = subparsers.add_parser(
        "train",
        help="fine-tune a classifier",
        description="Fine-tune a sentence classifier. Flags override values from --config. Epochs, "
        "learning rate, batch size and early stopping not given are chosen from the size of the data "
        "(printed at the start and written to the model card).",
    )
    parser.add_argument("--data", required=True, help="training data: file or directory (jsonl/csv/parquet)")
    parser.add_argument("--dev", help="dev data (default: carve 10%% of the training groups)")
    parser.add_argument("--out", required=True, help="output model directory")
    parser.add_argument("--config", help="a TOML ([train] table) or JSON TrainConfig file")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field"
    )
    parser.add_argument("--base", help="'default' (embedded e5-small), a local HF dir or a hub id")
    parser.add_argument("--from-model", help="warm-start from a trained classifier directory")
    parser.add_argument(
        "--add-to",
        choices=["default"],
        help="train the default model's four labels plus the labels of --data, on the shipped corpus and "
        "--data together",
    )
    parser.add_argument("--labels", help="comma-separated label order, or 'auto' to take them from the data")
    parser.add_argument("--text-column")
    parser.add_argument("--label-column")
    parser.add_argument("--group-column", help="column that keeps rows together when carving dev")
    parser.add_argument("--epochs", type=float, help="default: chosen from the data size (6 to 20)")
    parser.add_argument("--lr", type=float, help="default: chosen from the data size and --method")
    parser.add_argument("--batch-size", type=int, help="default: 8, 16 or 32 by data size")
    parser.add_argument(
        "--early-stopping-patience", type=int, help="epochs without dev improvement (0 = off; default: auto)"
    )
    parser.add_argument("--seed", type=int)
    parser.add_argument("--max-length", type=int)
    parser.add_argument("--method", choices=["lora", "full"])
    parser.add_argument(
        "--label-smoothing", type=float, help="share of each target spread over all labels (default 0)"
    )
    parser.add_argument(
        "--freeze-embeddings",
        action="store_true",
        default=None,
        help="with --method full: keep the embedding layer as pretrained, train the rest",
    )
    parser.add_argument(
        "--save-format",
        choices=["merged", "adapter", "both"],
        help="adapter: LoRA adapters + head, a few MB (the default for LoRA); merged: a plain ~470 MB "
        "transformers directory (also loads with transformers.pipeline); both",
    )
    parser.add_argument("--num-threads", type=int)
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    parser.add_argument(
        "--keep-checkpoints",
        action="store_true",
        default=None,
        help="keep --out/checkpoints after a finished run (kept anyway when interrupted)",
    )
    parser.set_defaults(handler=run)


def build_config(args: argparse.Namespace) -> Any:
    """Merge --config, --set and explicit flags (highest priority) into a TrainConfig."""
    from kontak_nlp.training.config import TrainConfig, apply_overrides

    base = (
        TrainConfig.from_file(args.config, args.set).to_dict()
        if args.config
        else apply_overrides({}, args.set)
    )
    for field in _FIELD_FLAGS:
        value = getattr(args, field)
        if value is not None:
            base[field] = value
    base["output_dir"] = args.out
    return TrainConfig.from_dict(base)


def run(args: argparse.Namespace) -> int:
    """Train and report where the model went."""
    from kontak_nlp.training.trainer import train

    config = build_config(args)
    clf = train(config, args.data, args.dev, resume=args.resume)
    logger.info("saved a %d-label model to %s", len(clf.labels), config.output_dir)
    return 0
