"""Tests of the evaluation harness: figures against scikit-learn, intervals, calibration, reports, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from kontak_nlp import DEFAULT_LABELS, Classifier
from kontak_nlp.cli import EXIT_DATA, main
from kontak_nlp.errors import DataError, InputError
from kontak_nlp.evaluation import (
    BehaviourReport,
    EvalReport,
    MajorityBaseline,
    TfidfLogRegBaseline,
    bootstrap_ci,
    evaluate,
    paired_bootstrap,
    run_behaviour_tests,
    write_report,
)
from kontak_nlp.evaluation.metrics import EVALUATE_METRIC_PATH, scores_from_confusion

LABELS = list(DEFAULT_LABELS)
MR, PS, DE, BG = LABELS

# A fixed toy set: (text, gold, prediction of the toy model, article, language).
TOY = [
    ("Kedua menteri bertemu di Tokyo.", MR, MR, "a1", "id"),
    ("Mereka membahas perdagangan.", MR, MR, "a1", "id"),
    ("Pertemuan berlangsung dua jam.", MR, PS, "a1", "id"),
    ("Menteri menilai pertemuan itu konstruktif.", PS, PS, "a2", "id"),
    ("The minister said talks were frank.", PS, MR, "a2", "en"),
    ("Beijing membantah tuduhan itu.", PS, PS, "a2", "id"),
    ("Jakarta mendesak Tokyo untuk menarik pasukan.", DE, DE, "a3", "id"),
    ("The EU urged Minsk to free prisoners.", DE, PS, "a3", "en"),
    ("Perang telah berlangsung sejak 2022.", BG, BG, "a4", "id"),
    ("Sanctions were imposed in 2014.", BG, MR, "a4", "en"),
    ("Kedutaan tidak menanggapi permintaan komentar.", BG, BG, "a4", "ms"),
    (
        "Menlu bertemu utusan khusus pada Senin malam di sela-sela KTT yang berlangsung di Kuala Lumpur.",
        MR,
        MR,
        "a5",
        "ms",
    ),
]
ROWS = [{"text": t, "label": g, "article_id": a, "lang": lang} for t, g, _, a, lang in TOY]
TOY_PRED = {t: p for t, _, p, _, _ in TOY}


def toy_model(texts: list[str]) -> list[str]:
    """A callable model: the fixed toy predictions."""
    return [TOY_PRED[t] for t in texts]


def perfect_model(texts: list[str]) -> list[str]:
    gold = {t: g for t, g, *_ in TOY}
    return [gold[t] for t in texts]


# ------------------------------------------------------------------ figures against scikit-learn
def test_figures_equal_scikit_learn() -> None:
    report = evaluate(toy_model, ROWS, n_bootstrap=200)
    gold = [g for _, g, *_ in TOY]
    pred = [p for _, _, p, *_ in TOY]
    assert report.metrics["accuracy"] == pytest.approx(np.mean(np.array(gold) == np.array(pred)))
    assert report.metrics["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    assert report.metrics["weighted_f1"] == pytest.approx(f1_score(gold, pred, average="weighted"))
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=LABELS, zero_division=0)
    for i, label in enumerate(LABELS):
        row = report.per_class[label]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx(
            (p[i], r[i], f[i], s[i])
        )
    assert report.confusion == confusion_matrix(gold, pred, labels=LABELS).tolist()
    np.testing.assert_allclose(np.sum(report.confusion_normalized, axis=1), 1.0)
    assert report.labels == LABELS and report.n_examples == len(TOY)
    assert report.calibration is None  # a callable gives no probabilities
    assert len(report.errors) == sum(g != q for g, q in zip(gold, pred))


def test_vectorised_scores_equal_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        gold, pred = rng.integers(0, 4, 30), rng.integers(0, 3, 30)
        cm = confusion_matrix(gold, pred, labels=range(4))
        scores = scores_from_confusion(cm)
        assert scores["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
        assert scores["weighted_f1"] == pytest.approx(f1_score(gold, pred, average="weighted"))
        assert scores["accuracy"] == pytest.approx(np.mean(gold == pred))


def test_evaluate_library_metric_matches() -> None:
    evaluate_lib = pytest.importorskip("evaluate")
    metric = evaluate_lib.load(str(EVALUATE_METRIC_PATH))
    gold = [g for _, g, *_ in TOY]
    pred = [p for _, _, p, *_ in TOY]
    report = evaluate(toy_model, ROWS, n_bootstrap=10)
    assert metric.compute(predictions=pred, references=gold)["macro_f1"] == pytest.approx(
        report.metrics["macro_f1"]
    )


# ------------------------------------------------------------------ special models and bad data
def test_perfect_model_has_collapsed_interval() -> None:
    report = evaluate(perfect_model, ROWS)
    assert report.metrics["macro_f1"] == 1.0 and report.metrics["accuracy"] == 1.0
    assert report.ci["macro_f1"] == [1.0, 1.0] and report.ci["accuracy"] == [1.0, 1.0]
    assert report.errors == [] and report.bootstrap["n_bootstrap"] == 1000


def test_constant_model() -> None:
    report = evaluate(lambda texts: [MR] * len(texts), ROWS, n_bootstrap=200)
    gold = [g for _, g, *_ in TOY]
    assert report.metrics["accuracy"] == pytest.approx(gold.count(MR) / len(gold))
    assert report.metrics["macro_f1"] == pytest.approx(f1_score(gold, [MR] * len(gold), average="macro"))
    assert report.per_class[MR]["recall"] == 1.0 and report.per_class[DE]["recall"] == 0.0
    assert [row[1:] for row in report.confusion] == [[0, 0, 0]] * 4


def test_unseen_gold_label_is_a_clear_error_before_classifying(
    tiny_classifier: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [dict(r) for r in ROWS[:4]]
    rows[2]["label"] = "gossip"

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("classified before checking the label set")

    for method in ("predict_logits", "predict_proba", "classify", "predict"):
        monkeypatch.setattr(tiny_classifier, method, must_not_run)
    with pytest.raises(DataError, match=r"'gossip'.*row 2.*label set"):
        evaluate(tiny_classifier, rows)


def test_empty_dataset_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="empty"):
        evaluate(toy_model, pd.DataFrame({"text": [], "label": []}))
    with pytest.raises(DataError, match="no row has a label"):
        evaluate(toy_model, [{"text": "Halo.", "label": None}])


def test_missing_column_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="sentence"):
        evaluate(toy_model, ROWS, text_column="sentence")
    with pytest.raises(DataError, match="publisher"):
        evaluate(toy_model, ROWS, slice_columns=("lang", "publisher"))


def test_unlabelled_rows_are_dropped_and_rows_keep_their_numbers() -> None:
    rows = [{"text": "Share:", "label": None}, *ROWS]
    report = evaluate(toy_model, rows, n_bootstrap=10)
    assert report.n_examples == len(TOY) and report.meta["n_dropped_unlabelled"] == 1
    assert {e["row"] for e in report.errors} == {i + 1 for i, (_, g, p, *_) in enumerate(TOY) if g != p}


# ------------------------------------------------------------------ bootstrap
def test_paired_bootstrap_identical_and_better() -> None:
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 4, 400)
    good = np.where(rng.random(400) < 0.9, gold, rng.integers(0, 4, 400))
    bad = np.where(rng.random(400) < 0.4, gold, rng.integers(0, 4, 400))
    same = paired_bootstrap(gold, good, good)
    assert same["p_value"] == pytest.approx(1.0) and same["delta"] == 0.0 and same["ci"] == [0.0, 0.0]
    better = paired_bootstrap(gold, good, bad, groups=np.arange(400) // 10)
    assert better["delta"] > 0.3 and better["p_value"] < 0.01 and better["ci"][0] > 0


def test_group_bootstrap_resamples_whole_groups() -> None:
    gold = np.tile([0, 1, 2, 3], 50)
    pred = np.where(np.arange(200) % 3 == 0, (gold + 1) % 4, gold)
    rows_ci = bootstrap_ci(gold, pred, 4)
    one_group = bootstrap_ci(gold, pred, 4, groups=["same article"] * 200)
    accuracy = float(np.mean(gold == pred))
    assert one_group["accuracy"] == pytest.approx([accuracy, accuracy])  # one article: nothing varies
    assert rows_ci["accuracy"][1] - rows_ci["accuracy"][0] > 0.05
    # blocks of articles that are all right or all wrong widen the interval
    blocks = np.arange(200) // 20
    block_pred = np.where(blocks % 2 == 0, gold, (gold + 1) % 4)
    wide = bootstrap_ci(gold, block_pred, 4, groups=blocks)["accuracy"]
    narrow = bootstrap_ci(gold, block_pred, 4)["accuracy"]
    assert wide[1] - wide[0] > 2 * (narrow[1] - narrow[0])


def test_evaluate_uses_the_article_column() -> None:
    report = evaluate(toy_model, ROWS, n_bootstrap=50)
    assert report.bootstrap["group_column"] == "article_id" and report.bootstrap["n_groups"] == 5
    renamed = [{"doc_id" if k == "article_id" else k: v for k, v in r.items()} for r in ROWS]
    assert evaluate(toy_model, renamed, n_bootstrap=50).bootstrap["group_column"] == "doc_id"
    assert evaluate(toy_model, ROWS, group_column=None, n_bootstrap=50).bootstrap["n_groups"] == len(ROWS)


def test_bootstrap_is_fast_and_seeded() -> None:
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 4, 5000)
    pred = np.where(rng.random(5000) < 0.8, gold, rng.integers(0, 4, 5000))
    start = time.perf_counter()
    first = bootstrap_ci(gold, pred, 4, n_bootstrap=1000, seed=3)
    assert time.perf_counter() - start < 3.0
    assert first == bootstrap_ci(gold, pred, 4, n_bootstrap=1000, seed=3)
    assert first["macro_f1"][0] < f1_score(gold, pred, average="macro") < first["macro_f1"][1]


# ------------------------------------------------------------------ model forms, calibration, slices
def test_classifier_pipeline_and_directory_agree(tiny_classifier: Classifier, tiny_model_dir: Path) -> None:
    from transformers import pipeline

    by_classifier = evaluate(tiny_classifier, ROWS, n_bootstrap=50)
    by_directory = evaluate(str(tiny_model_dir), ROWS, n_bootstrap=50)
    pipe = pipeline("text-classification", model=str(tiny_model_dir), device="cpu")
    by_pipeline = evaluate(pipe, ROWS, n_bootstrap=50)
    expected = tiny_classifier.predict([r["text"] for r in ROWS])
    for report in (by_classifier, by_directory, by_pipeline):
        assert (
            report.confusion == confusion_matrix([r["label"] for r in ROWS], expected, labels=LABELS).tolist()
        )
        assert report.calibration is not None
    cal = by_classifier.calibration
    assert cal["temperature"] == tiny_classifier.temperature
    assert by_pipeline.calibration["ece_before"] == pytest.approx(cal["ece_before"], abs=1e-4)
    assert sum(cal["reliability_after"]["count"]) == len(ROWS)


def test_temperature_changes_the_calibrated_ece(tiny_classifier: Classifier) -> None:
    tiny_classifier.model.config.calibration_temperature = 3.0
    cal = evaluate(tiny_classifier, ROWS, n_bootstrap=10).calibration
    assert cal["temperature"] == 3.0 and cal["ece_after"] != cal["ece_before"]


def test_slices() -> None:
    from kontak_nlp.evaluation.features import FEATURE_SLICES

    rows = [dict(r, hard=i % 3 == 0, outlet="x" if i < 6 else "y") for i, r in enumerate(ROWS)]
    report = evaluate(toy_model, rows, slice_columns=("lang", "hard", "outlet"), n_bootstrap=10)
    assert set(report.slices) == {"lang", "hard", "outlet", "length_words", *FEATURE_SLICES} - {"position"}
    assert set(report.slices["hard"]) == {"true", "false"}
    assert sum(v["n"] for v in report.slices["lang"].values()) == len(rows)
    assert list(report.slices["length_words"]) == ["<=10", "11-20"]
    en = [i for i, r in enumerate(rows) if r["lang"] == "en"]
    assert report.slices["lang"]["en"]["accuracy"] == pytest.approx(
        np.mean([TOY[i][1] == TOY[i][2] for i in en])
    )


def test_missing_values_in_slices_and_groups() -> None:
    frame = pd.DataFrame(ROWS)
    frame.loc[4, "lang"] = None
    frame.loc[4, "article_id"] = None
    report = evaluate(toy_model, frame, n_bootstrap=10)
    assert report.slices["lang"]["(missing)"]["n"] == 1
    assert EvalReport.from_json(report.to_json()) == report


def test_callable_with_bad_output_is_an_error() -> None:
    with pytest.raises(InputError, match="3 predictions"):
        evaluate(lambda texts: [MR] * 3, ROWS)

    class Gossip:
        labels = LABELS

        def __call__(self, texts: list[str]) -> list[str]:
            return ["gossip"] * len(texts)

    with pytest.raises(DataError, match="predicted label 'gossip'"):
        evaluate(Gossip(), ROWS)
    undeclared = evaluate(lambda texts: ["gossip"] * len(texts), ROWS, n_bootstrap=10)
    assert undeclared.labels == sorted({*LABELS, "gossip"}) and undeclared.metrics["accuracy"] == 0.0


# ------------------------------------------------------------------ baselines
def test_baselines() -> None:
    texts, labels = [r["text"] for r in ROWS], [r["label"] for r in ROWS]
    majority = MajorityBaseline().fit(texts, labels)
    assert majority.predict(["apa saja"]) == [MR] and majority.labels == LABELS
    np.testing.assert_allclose(majority.predict_proba(["a", "b"]).sum(axis=1), 1.0)
    tfidf = TfidfLogRegBaseline().fit(texts, labels)
    assert tfidf.predict(texts) == labels and tfidf.predict_proba(texts).shape == (len(texts), 4)
    report = evaluate(toy_model, ROWS, baselines=["majority", "tfidf"], train_data=ROWS, n_bootstrap=100)
    assert set(report.baselines) == {"majority", "tfidf"}
    assert report.baselines["tfidf"]["metrics"]["macro_f1"] == 1.0
    assert report.baselines["tfidf"]["paired"]["delta"] < 0
    as_model = evaluate(tfidf, ROWS, n_bootstrap=10)
    assert as_model.metrics["accuracy"] == 1.0 and as_model.calibration["temperature"] == 1.0
    with pytest.raises(InputError, match="train_data"):
        evaluate(toy_model, ROWS, baselines=["majority"])


# ------------------------------------------------------------------ report files and round trip
def test_report_json_round_trip(tmp_path: Path, tiny_classifier: Classifier) -> None:
    report = evaluate(tiny_classifier, ROWS, baselines={"constant": lambda t: [BG] * len(t)}, n_bootstrap=50)
    assert EvalReport.from_json(report.to_json()) == report
    report.to_json(tmp_path / "r.json")
    assert EvalReport.from_json(tmp_path / "r.json") == report


def test_write_report_writes_every_file(tmp_path: Path, tiny_classifier: Classifier) -> None:
    report = evaluate(tiny_classifier, ROWS, n_bootstrap=50)
    paths = write_report(report, tmp_path / "out")
    for name in ("report.json", "report.md", "confusion_matrix.png", "reliability.png", "errors.csv"):
        assert (tmp_path / "out" / name).stat().st_size > 0, name
    assert (tmp_path / "out" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    errors = pd.read_csv(paths["errors"])
    assert list(errors.columns[:5]) == ["row", "text", "gold", "predicted", "confidence"]
    assert {"article_id", "lang", "length_words"} <= set(errors.columns)
    assert errors["confidence"].is_monotonic_decreasing and (errors["gold"] != errors["predicted"]).all()
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "| Macro-F1 |" in markdown and "## Calibration" in markdown


def test_write_report_for_a_label_only_model(tmp_path: Path) -> None:
    paths = write_report(evaluate(toy_model, ROWS, n_bootstrap=10), tmp_path)
    assert paths["reliability"].stat().st_size > 0
    assert "no probabilities" in paths["markdown"].read_text(encoding="utf-8")


def test_plot_functions_draw_on_new_or_given_axes() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kontak_nlp.evaluation import plot_confusion_matrix, plot_per_label_f1, plot_reliability

    report = evaluate(toy_model, ROWS, n_bootstrap=10)
    for draw in (plot_confusion_matrix, plot_per_label_f1, plot_reliability):
        ax = draw(report)
        assert ax.get_title()
        plt.close(ax.figure)
    _, ax = plt.subplots()
    assert plot_confusion_matrix(report, ax=ax, normalize=False) is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == LABELS
    plt.close(ax.figure)


# ------------------------------------------------------------------ behaviour
def test_behaviour_suite_on_tiny_model(tiny_classifier: Classifier) -> None:
    report = run_behaviour_tests(tiny_classifier, n_fills=3)
    names = {t.name for t in report.tests}
    assert {"swap_names", "paraphrase_id_en_ms", "add_demand_clause", "meeting_to_denial"} <= names
    assert all(0.0 <= t.failure_rate <= 1.0 and t.n_cases > 0 for t in report.tests)
    assert all(0.0 <= t.flip_rate <= 1.0 for t in report.tests if t.kind == "invariance")
    assert BehaviourReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_behaviour_expectations() -> None:
    report = run_behaviour_tests(lambda texts: [DE if "mendesak" in t else PS for t in texts])
    rates = report.failure_rates
    assert rates["meeting_to_denial"] == 0.0 and rates["meeting_to_cancellation"] == 1.0
    assert 0.0 < rates["add_demand_clause"] < 1.0  # only the Indonesian demand clauses say "mendesak"
    assert rates["swap_names"] == 0.0 and 0.0 < rates["paraphrase_id_en_ms"] <= 1.0


# ------------------------------------------------------------------ CLI and import cost
def test_cli_end_to_end(tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    out = tmp_path / "report"
    argv = ["evaluate", "--model", str(tiny_model_dir), "--data", str(data), "--out", str(out)]
    assert main([*argv, "--bootstrap", "100", "--behaviour", "--baseline-train", str(data)]) == 0
    stdout = capsys.readouterr().out
    assert "Macro-F1" in stdout and "baseline tfidf" in stdout and "behaviour swap_names" in stdout
    saved = json.loads((out / "report.json").read_text(encoding="utf-8"))
    predicted = Classifier.from_pretrained(tiny_model_dir, device="cpu").predict([r["text"] for r in ROWS])
    expected = f1_score([r["label"] for r in ROWS], predicted, average="macro")
    assert saved["metrics"]["macro_f1"] == pytest.approx(expected)
    assert saved["behaviour"]["tests"] and saved["bootstrap"]["n_bootstrap"] == 100
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "Halo.", "label": "gossip"}) + "\n", encoding="utf-8")
    assert main(["evaluate", "--model", str(tiny_model_dir), "--data", str(bad)]) == EXIT_DATA


def test_cli_evaluates_the_shipped_model_without_model_flag(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kontak_nlp.api import clear_cache
    from kontak_nlp.inference import loader

    monkeypatch.setattr(loader, "DEFAULT_MODEL_DIR", tiny_model_dir)  # stands in for the shipped model
    clear_cache()
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    assert main(["evaluate", "--data", str(data), "--bootstrap", "10", "--out", str(tmp_path / "r")]) == 0
    saved = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert str(tiny_model_dir) in saved["model"] and "Macro-F1" in capsys.readouterr().out
    clear_cache()


def test_import_stays_cheap() -> None:
    code = (
        "import sys, kontak_nlp, kontak_nlp.evaluation as e; e.__dir__(); "
        "assert not {'sklearn', 'matplotlib', 'torch'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_feature_slices_and_confusion_pairs() -> None:
    from kontak_nlp.evaluation._markdown import confusion_pairs

    rows = [{**row, "sent_idx": i, "confidence": "high"} for i, row in enumerate(ROWS)]
    report = evaluate(toy_model, rows, n_bootstrap=10)
    assert {"has_quote", "speech_verb", "dated", "short_row", "position", "confidence"} <= set(report.slices)
    assert "headline" in report.slices["position"]
    pairs = confusion_pairs(report)
    assert sum(p["count"] for p in pairs) == len(report.errors)
    assert all(p["gold"] != p["predicted"] and 1 <= len(p["examples"]) <= 3 for p in pairs)
    # realdev's own "confidence" column must not overwrite the model's confidence in errors.csv
    assert all(e["confidence"] is None and e["data_confidence"] == "high" for e in report.errors)
