"""Where kontak's torch CPU forward spends its time: weight products against everything else.

Profiles one pass of the default CPU path (``torch_fp32``) or bf16 over the throughput benchmark's
held-out sentences with ``torch.profiler`` and reports the share of time in the weight products
(``mkldnn::_linear_pointwise`` on the fast path, ``aten::addmm``/``aten::linear`` otherwise) and the
rate they reach, from the encoder's multiply-adds for the real (unpadded) token count, next to the
rate of one large product of the same kind timed in the same run. When the two are close, the
path can only get faster by doing less arithmetic.

Example:
    python benchmarks/profile_forward.py --precision fp32 --n 1000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import throughput  # noqa: E402  (the same model preparation and sentences)

_WEIGHT_PRODUCTS = ("mkldnn::_linear_pointwise", "aten::addmm", "aten::mm")


def encoder_flops(config: Any, tokens: int, sentences: int) -> float:
    """Floating-point operations of the weight products of the fast forward (the last layer runs its
    query, attention output and feed-forward for the first token only)."""
    hidden, inner, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    full_layer = 4 * hidden * hidden + 2 * hidden * inner
    last_layer = tokens * 2 * hidden * hidden + sentences * (2 * hidden * hidden + 2 * hidden * inner)
    return 2.0 * ((layers - 1) * tokens * full_layer + last_layer)


def large_product_gflop_per_s(config: Any, dtype: Any, rows: int = 4096, calls: int = 20) -> float:
    """The rate of one large product of the model's feed-forward shape through the same packed
    oneDNN call: what these cores reach when overheads and small shapes do not matter."""
    import statistics
    import time

    import torch

    from kontak_nlp.inference.fast_bert import _Linear

    hidden, inner = config.hidden_size, config.intermediate_size
    generator = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(inner, hidden, generator=generator), torch.zeros(inner)
    linear = _Linear(weight, bias, dtype, gelu=False)
    x = torch.randn(rows, hidden, generator=generator).to(dtype)
    times = []
    with torch.inference_mode():
        for _ in range(calls + 2):
            started = time.perf_counter()
            linear(x)
            times.append(time.perf_counter() - started)
    return 2.0 * rows * hidden * inner / statistics.median(times[2:]) / 1e9


def profile(model: Any, texts: list[str], batch_size: int) -> dict[str, float]:
    """Seconds in weight products and in total for one pass over ``texts``."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    model.predict_logits(texts[:batch_size], batch_size=batch_size, show_progress_bar=False)  # warm-up
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        model.predict_logits(texts, batch_size=batch_size, show_progress_bar=False)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) / 1e6
    products = sum(e.self_cpu_time_total for e in events if e.key in _WEIGHT_PRODUCTS) / 1e6
    return {"total_s": total, "weight_products_s": products}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped default model)")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--n", type=int, default=1000, help="held-out sentences (default: 1000)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    parser.add_argument("--out", help="write the figures to this JSON file too")
    args = parser.parse_args(argv)
    args.base_only, args.eval_file = False, None
    import torch

    from kontak_nlp.inference import RuntimeOptions, load_model
    from kontak_nlp.inference.options import configure_threads

    with tempfile.TemporaryDirectory(prefix="kontak-profile-") as tmp:
        model_dir, description = throughput.prepare_model(args, Path(tmp))
        texts = throughput.prepare_texts(args)[0]
        configure_threads(args.threads)
        model = load_model(model_dir, RuntimeOptions(device="cpu", precision=args.precision))
        times = profile(model, texts, args.batch_size)
        dtype = torch.float32 if model.precision == "fp32" else torch.bfloat16
        peak = large_product_gflop_per_s(model.config, dtype)
    tokens = sum(len(ids) for ids in model.tokenizer(texts, truncation=True)["input_ids"])
    flops = encoder_flops(model.config, tokens, len(texts))
    report = {
        "model": description, "precision": model.precision, "sentences": len(texts), "tokens": tokens,
        "fast_path": model._fast_forward() is not None, **{k: round(v, 3) for k, v in times.items()},
        "weight_products_share": round(times["weight_products_s"] / times["total_s"], 3),
        "weight_products_gflop_per_s": round(flops / times["weight_products_s"] / 1e9, 1),
        "large_product_gflop_per_s": round(peak, 1),
        "sentences_per_s_under_profiler": round(len(texts) / times["total_s"], 1),
    }  # fmt: skip
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
