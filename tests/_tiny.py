"""Tiny offline BERT classifiers for tests: WordPiece vocab, 2 layers, hidden 32, built in seconds."""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

from kontak_nlp import DEFAULT_LABELS, Classifier

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "menteri luar negeri bertemu pertemuan membahas sepakat menilai menegaskan mendesak menuntut "
    "meminta harus perang sanksi sejak kata jakarta tokyo di dan pada senin the minister met talks "
    "urged said war since"
).split()


def write_vocab(directory: Path) -> Path:
    """A ~100-piece WordPiece vocab: specials, some words, letters, digits, ##letters, punctuation."""
    pieces = SPECIAL + WORDS + list(string.ascii_lowercase) + list(string.digits)
    pieces += [f"##{c}" for c in string.ascii_lowercase + string.digits] + list(".,!?\"'-()/:")
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(dict.fromkeys(pieces)) + "\n", encoding="utf-8")
    return vocab


def build_tiny_model(directory: Path, labels: Sequence[str] = DEFAULT_LABELS, seed: int = 0) -> Path:
    """Save a random tiny BertForSequenceClassification + fast tokenizer to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab = str(write_vocab(directory))
    tokenizer = BertTokenizerFast(vocab_file=vocab, vocab=vocab, model_max_length=64)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
        initializer_range=0.2,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )
    model = BertForSequenceClassification(config)
    Classifier(model, tokenizer, device="cpu").save_pretrained(directory)
    return directory


def build_tiny_adapter(base_dir: Path, directory: Path, seed: int = 3) -> Path:
    """Save a LoRA adapter directory over ``base_dir`` (a tiny model) with non-zero adapters and head,
    as training leaves them (``kontak_base`` names ``base_dir``)."""
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoTokenizer

    from kontak_nlp.inference.model_io import save_model
    from kontak_nlp.training.trainer import _LORA_TARGETS

    model = BertForSequenceClassification.from_pretrained(base_dir)
    model.config.kontak_base = str(base_dir)
    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=4,
        lora_alpha=8,
        target_modules=_LORA_TARGETS,
        modules_to_save=["classifier", "pooler"],
    )
    model = get_peft_model(model, lora)
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_" in name or "modules_to_save" in name:
                param.normal_(0.0, 0.3)
    save_model(model, AutoTokenizer.from_pretrained(base_dir), directory, merged=False)
    return directory


def build_word_sense_model(directory: Path, synonyms: dict[str, list[str]], seed: int = 0) -> Path:
    """A tiny encoder that stands in for a pretrained one: it "knows" which words mean the same.

    A random tiny encoder cannot generalise from a few dozen rows whatever the training recipe; a
    pretrained one such as e5-small can, because words of similar meaning have similar embeddings.
    Here the words of each group in ``synonyms`` share an embedding direction (plus noise), other
    words are random, and both layers average the sentence (uniform attention, identity value and
    output projections, no feed-forward), so the first token carries a bag of word meanings. The
    pooler and the head are random: training has to learn them.
    """
    build_tiny_model(directory, seed=seed)
    model = BertForSequenceClassification.from_pretrained(directory)
    tokenizer = BertTokenizerFast.from_pretrained(directory)
    hidden = model.config.hidden_size
    torch.manual_seed(seed)
    with torch.no_grad():
        embeddings = model.bert.embeddings
        embeddings.word_embeddings.weight.normal_(0.0, 1.0)
        embeddings.position_embeddings.weight.zero_()
        embeddings.token_type_embeddings.weight.zero_()
        for words in synonyms.values():
            direction = torch.randn(hidden)
            for word in words:
                row = tokenizer.convert_tokens_to_ids(word)
                embeddings.word_embeddings.weight[row] = direction + 0.5 * torch.randn(hidden)
        for layer in model.bert.encoder.layer:
            attention = layer.attention
            for linear in (
                attention.self.query,
                attention.self.key,
                layer.intermediate.dense,
                layer.output.dense,
            ):
                linear.weight.zero_()
                linear.bias.zero_()
            for linear in (attention.self.value, attention.output.dense):
                linear.weight.copy_(torch.eye(hidden))
                linear.bias.zero_()
    Classifier(model, tokenizer, device="cpu").save_pretrained(directory)
    return directory
