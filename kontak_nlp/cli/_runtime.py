"""The runtime flags that ``classify``, ``evaluate`` and ``demo`` share, read into one RuntimeOptions."""

from __future__ import annotations

import argparse

from kontak_nlp.inference.options import BACKENDS, PRECISIONS, RuntimeOptions

_DEFAULT = RuntimeOptions()


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--device --precision --backend --quantize --recheck-margin --num-threads --batch-size``
    with the defaults of :class:`RuntimeOptions` (the defaults of the Python API)."""
    group = parser.add_argument_group("runtime (the defaults of kontak_nlp.classify)")
    group.add_argument("--device", default=_DEFAULT.device, help="auto, cpu, cuda or cuda:N (default: auto)")
    group.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=_DEFAULT.precision,
        help="fp32 (default); auto: bf16 on GPUs and on CPUs with AVX512-BF16/AMX (faster, labels may "
        "differ from fp32 on near ties)",
    )
    group.add_argument("--backend", choices=BACKENDS, default=_DEFAULT.backend)
    group.add_argument("--quantize", choices=["int8"], help="dynamic int8 (with --backend onnx)")
    group.add_argument(
        "--recheck-margin",
        type=float,
        default=_DEFAULT.recheck_margin,
        metavar="LOGITS",
        help="--quantize int8: recompute rows whose top-two logit margin is below this in fp32; "
        f"0 turns it off (default: {_DEFAULT.recheck_margin})",
    )
    group.add_argument("--num-threads", type=int, help="CPU threads (default: physical cores)")
    group.add_argument(
        "--batch-size", type=int, default=_DEFAULT.batch_size, help="texts per forward pass (default: 32)"
    )


def runtime_options(args: argparse.Namespace) -> RuntimeOptions:
    """The :class:`RuntimeOptions` of parsed arguments (validated there).

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_runtime_arguments(parser)
        >>> runtime_options(parser.parse_args(["--device", "cpu"])).precision
        'fp32'
    """
    return RuntimeOptions(
        device=args.device,
        precision=args.precision,
        backend=args.backend,
        quantize=args.quantize,
        recheck_margin=args.recheck_margin,
        threads=args.num_threads,
        batch_size=args.batch_size,
    )
