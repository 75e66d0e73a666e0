"""The report logic of ``benchmarks/throughput.py``: ratios, the accuracy bar and which path it names.

The timed runs themselves are a benchmark, not a test; these check the arithmetic and the choice of
"fastest path within the accuracy bar" on fabricated worker results.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

_BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load_script(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"kontak_benchmark_{name}", _BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def throughput() -> ModuleType:
    return _load_script("throughput")


GOLD = ["demand", "background", "meeting_report", "position_statement"]


def _result(mode: str, runs: list[float], labels: list[str], eval_predictions: list[str]) -> dict[str, Any]:
    return {
        "mode": mode, "sentences_per_s": sorted(runs)[len(runs) // 2], "runs": runs, "load_s": 1.0,
        "peak_rss_mb": 1000.0, "labels": labels, "eval_predictions": eval_predictions,
        "test_predictions": eval_predictions, "rechecked_share": {},
    }  # fmt: skip


def _results() -> list[dict[str, Any]]:
    same = ["a"] * 200
    one_off = ["b"] + ["a"] * 199  # 99.5% agreement
    three_off = ["b"] * 3 + ["a"] * 197  # 98.5% agreement
    worse = ["background", "background", "meeting_report", "position_statement"]  # one eval row wrong
    return [
        _result("pipeline", [40.0, 50.0, 45.0], same, GOLD),
        _result("torch_fp32", [120.0, 125.0, 130.0], same, GOLD),
        _result("onnx_int8", [200.0, 260.0, 230.0], one_off, GOLD),
        _result("onnx_int8_raw", [300.0, 320.0, 310.0], three_off, GOLD),  # fastest, below 99%
        _result("torch_bf16", [240.0, 250.0, 245.0], same, worse),  # faster, but macro-F1 drops
    ]


def test_ratios_agreement_and_f1_deltas(throughput: ModuleType) -> None:
    rows = {r["mode"]: r for r in throughput.summarise(_results(), GOLD, GOLD)}
    assert rows["torch_fp32"]["ratio_to_pipeline"] == pytest.approx(125 / 45, abs=0.01)
    assert rows["onnx_int8"]["ratio_per_round"] == [5.0, 5.2, 5.11]  # paired with the pipeline's rounds
    assert rows["onnx_int8"]["agreement_with_torch_fp32"] == pytest.approx(0.995)
    assert rows["onnx_int8_raw"]["agreement_with_torch_fp32"] == pytest.approx(0.985)
    assert rows["torch_fp32"]["macro_f1_delta"] == 0.0
    assert rows["torch_bf16"]["macro_f1_delta"] < -0.01


def test_fastest_accurate_path_respects_agreement_and_f1(throughput: ModuleType) -> None:
    rows = throughput.summarise(_results(), GOLD, GOLD)
    choice = throughput.explain_choice(rows, "cpu")
    assert choice["fastest"].startswith("fastest measured path: onnx_int8_raw (310 sentences/s")
    # bf16 is faster than onnx_int8 but misses the F1 bar; onnx_int8_raw misses the agreement bar
    assert "path with >= 99% agreement" in choice["fastest_accurate"]
    assert (
        ": onnx_int8 (230 sentences/s, 5.11x the pipeline; 5.0-5.2x in single rounds)"
        in (choice["fastest_accurate"])
    )


def test_no_mode_within_the_bar_is_said(throughput: ModuleType) -> None:
    results = [r for r in _results() if r["mode"] in ("pipeline", "torch_fp32", "onnx_int8_raw")]
    rows = [r for r in throughput.summarise(results, GOLD, GOLD) if r["mode"] != "torch_fp32"]
    assert throughput.explain_choice(rows, "cpu")["fastest_accurate"].endswith(": none")


def test_markdown_has_one_row_per_mode(throughput: ModuleType) -> None:
    table = throughput.markdown(throughput.summarise(_results(), GOLD, GOLD))
    lines = table.splitlines()
    assert len(lines) == 2 + len(_results())
    assert lines[4].startswith("| onnx_int8 | 230.0 | 5.11 |")


def test_profile_flops_match_a_full_forward_when_every_sentence_is_one_token() -> None:
    """The first-token-only last layer saves nothing when a sentence is one token long."""
    from types import SimpleNamespace

    module = _load_script("profile_forward")
    config = SimpleNamespace(hidden_size=384, intermediate_size=1536, num_hidden_layers=12)
    per_token_layer = 2 * (4 * 384 * 384 + 2 * 384 * 1536)
    assert module.encoder_flops(config, tokens=50, sentences=50) == 50 * 12 * per_token_layer
    # longer sentences: the last layer's query, output and feed-forward run once per sentence
    assert module.encoder_flops(config, tokens=500, sentences=50) < 500 * 12 * per_token_layer
