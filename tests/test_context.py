"""Article context: contexts built from articles, pair encoding, and a model that learns from context."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from kontak_nlp import Classifier, TrainConfig, train
from kontak_nlp.errors import DataError, InputError
from kontak_nlp.inference.context import article_contexts, contexts_by_group, drop_contexts, encode

HEADLINE_CUE = {
    "meeting_report": "bertemu pertemuan",
    "demand": "mendesak menuntut",
    "background": "perang sejak",
}
FILLER = ["menteri", "luar", "negeri", "jakarta", "tokyo", "di", "dan", "pada", "senin"]


def context_rows(seed: int = 0) -> list[dict[str, object]]:
    """Articles whose body sentences are filler: only the headline (the context) tells the label."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for label, cue in HEADLINE_CUE.items():
        for a in range(6):
            article = f"{label}-{a}"
            rows.append({"text": cue, "label": label, "article_id": article, "sent_idx": 0})
            for i in range(1, 4):
                words = " ".join(rng.sample(FILLER, 4))
                rows.append({"text": words + ".", "label": label, "article_id": article, "sent_idx": i})
    return rows


def test_article_contexts_and_groups() -> None:
    assert article_contexts(["H", "a", "b"]) == ["", "H", "H | a"]
    assert contexts_by_group(["a", "H2", "H1", "b"], [1, 2, 1, 1], [1, 0, 0, 2]) == ["H1", "", "", "H1 | a"]
    assert drop_contexts(["x"] * 1000, 0.3, 0).count("") in range(250, 350)


def test_pair_encoding_keeps_bare_rows_identical(tiny_model_dir: Path) -> None:
    clf = Classifier.from_pretrained(tiny_model_dir, device="cpu")
    texts = ["menteri bertemu di jakarta", "perang sejak senin"]
    bare = encode(clf.tokenizer, texts, None, 32)
    mixed = encode(clf.tokenizer, texts, ["", "judul berita"], 32)
    assert mixed[0] == bare[0] and len(mixed[1]) > len(bare[1])
    long_text = " ".join(["menteri"] * 60)
    assert encode(clf.tokenizer, [long_text], ["judul"], 32) == encode(clf.tokenizer, [long_text], None, 32)
    with pytest.raises(InputError, match="contexts for 2 texts"):
        clf.predict(texts, context=["x"])


def test_model_trained_with_context_reads_it(tiny_model_dir: Path, tmp_path: Path) -> None:
    rows = context_rows()
    config = TrainConfig(
        output_dir=str(tmp_path / "ctx"),
        base=str(tiny_model_dir),
        method="full",
        epochs=15,
        lr=3e-3,
        batch_size=8,
        max_length=32,
        early_stopping_patience=0,
        seed=0,
        context="article",
        context_dropout=0.0,
    )
    clf = train(config, rows, rows)
    assert clf.uses_context
    body = [r for r in rows if r["sent_idx"] != 0]
    contexts = contexts_by_group(
        [r["text"] for r in rows], [r["article_id"] for r in rows], [r["sent_idx"] for r in rows]
    )
    body_ctx = [c for c, r in zip(contexts, rows) if r["sent_idx"] != 0]
    with_ctx = clf.predict([r["text"] for r in body], context=body_ctx)
    assert np.mean([p == r["label"] for p, r in zip(with_ctx, body)]) > 0.8  # the text alone is filler
    from kontak_nlp.evaluation import evaluate

    report = evaluate(clf, rows, n_bootstrap=10)  # the harness builds contexts from article_id/sent_idx
    assert report.metrics["accuracy"] > 0.8
    _articles_use_context(clf, rows, tmp_path)
    reloaded = Classifier.from_pretrained(tmp_path / "ctx", device="cpu")
    assert reloaded.uses_context
    np.testing.assert_allclose(
        reloaded.predict_proba([r["text"] for r in body], context=body_ctx),
        clf.predict_proba([r["text"] for r in body], context=body_ctx),
        atol=1e-5,
    )


def _articles_use_context(clf: Classifier, rows: list[dict[str, object]], tmp_path: Path) -> None:
    """classify_article and the job engine's article mode hand a context model its article contexts:
    the body sentences are filler, so only the headline tells their label."""
    import json

    from kontak_nlp import classify_article
    from kontak_nlp.jobs import JobConfig, run_job

    articles = {}
    for r in rows:
        articles.setdefault(r["article_id"], []).append(r)
    texts = ["\n\n".join(str(r["text"]) for r in units) for units in articles.values()]
    gold = [[r["label"] for r in units] for units in articles.values()]
    for text, labels in zip(texts, gold):
        assert [s.label for s in classify_article(text, model=clf)] == labels
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    run_job(JobConfig(input=source, output=tmp_path / "out.jsonl", articles=True), model=clf)
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["label"] for r in out] == [label for labels in gold for label in labels]


def test_context_needs_article_columns(tiny_model_dir: Path, tmp_path: Path) -> None:
    rows = [{"text": "a b", "label": lab} for lab in ("demand", "background") for _ in range(6)]
    config = TrainConfig(
        output_dir=str(tmp_path / "x"), base=str(tiny_model_dir), context="article", epochs=1
    )
    with pytest.raises(DataError, match="sent_idx"):
        train(config, rows, rows)
