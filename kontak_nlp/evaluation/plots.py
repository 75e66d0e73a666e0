"""Figures from an :class:`EvalReport`; matplotlib is imported only when a figure is drawn.

Each function draws on ``ax`` when given, else on a new pyplot figure (so figures show in
notebooks), and returns the axes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kontak_nlp.evaluation.report import EvalReport


def confusion_figsize(report: EvalReport) -> tuple[float, float]:
    """A figure size that fits the confusion matrix with unclipped label names."""
    k = max(len(report.labels), 2)
    longest = max((len(label) for label in report.labels), default=5)
    side = 1.1 * k + 0.09 * longest + 2.0
    return (side + 1.0, side)


def per_label_figsize(report: EvalReport) -> tuple[float, float]:
    """A figure size with one readable bar per label."""
    return (7.0, 1.6 + 0.55 * max(len(report.labels), 2))


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def plot_confusion_matrix(report: EvalReport, ax: Any = None, normalize: bool = True) -> Any:
    """Heat map of the confusion matrix, every cell annotated (share of the gold row and count).

    Args:
        report: The evaluation report.
        ax: Axes to draw on (default: a new figure).
        normalize: Colour by the row-normalized share (recall per gold label) instead of counts.

    Example:
        >>> ax = plot_confusion_matrix(report)  # doctest: +SKIP
        >>> ax.figure.savefig("confusion.png")  # doctest: +SKIP
    """
    import numpy as np

    ax = _axes(ax, confusion_figsize(report))
    counts = np.asarray(report.confusion, dtype=float).reshape(len(report.labels), len(report.labels))
    shares = np.asarray(report.confusion_normalized, dtype=float).reshape(counts.shape)
    values = shares if normalize else counts
    image = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else max(counts.max(), 1.0))
    ax.figure.colorbar(
        image, ax=ax, fraction=0.046, pad=0.04, label="share of gold row" if normalize else "count"
    )
    threshold = (1.0 if normalize else max(counts.max(), 1.0)) / 2
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            text = f"{shares[i, j]:.2f}\n({int(counts[i, j])})" if normalize else f"{int(counts[i, j])}"
            colour = "white" if values[i, j] > threshold else "black"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=10)
    ticks = range(len(report.labels))
    ax.set_xticks(ticks, report.labels, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_yticks(ticks, report.labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"Confusion matrix (n = {report.n_examples})")
    return ax


def plot_reliability(report: EvalReport, ax: Any = None) -> Any:
    """Reliability diagram: accuracy against confidence per bin, before and after the temperature.

    Bars show the calibrated probabilities; markers the uncalibrated ones (T = 1). A perfectly
    calibrated model lies on the diagonal.

    Example:
        >>> ax = plot_reliability(report)  # doctest: +SKIP
    """
    ax = _axes(ax, (6.4, 5.6))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top-class probability)")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability diagram")
    cal = report.calibration
    if not cal:
        ax.text(0.5, 0.5, "the model gives no probabilities", ha="center", va="center", fontsize=11)
        return ax
    after, before = cal["reliability_after"], cal["reliability_before"]
    edges = after["edges"]
    lefts, widths = edges[:-1], [b - a for a, b in zip(edges[:-1], edges[1:])]
    heights = [acc if acc is not None else 0.0 for acc in after["accuracy"]]
    ax.bar(
        lefts,
        heights,
        width=widths,
        align="edge",
        alpha=0.6,
        edgecolor="tab:blue",
        label=f"T = {cal['temperature']:.2f} (ECE {cal['ece_after']:.3f})",
    )
    points = [(c, a) for c, a in zip(before["confidence"], before["accuracy"]) if c is not None]
    if points:
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", color="tab:orange", label=f"T = 1 (ECE {cal['ece_before']:.3f})")
    ax.legend(loc="upper left", fontsize=9)
    return ax


def plot_per_label_f1(report: EvalReport, ax: Any = None) -> Any:
    """Horizontal bars of F1 per label, annotated with F1 and support; a line marks macro-F1.

    Example:
        >>> ax = plot_per_label_f1(report)  # doctest: +SKIP
    """
    ax = _axes(ax, per_label_figsize(report))
    labels = list(report.per_class)
    scores = [report.per_class[label]["f1"] for label in labels]
    positions = range(len(labels))
    ax.barh(positions, scores, color="#4c84bd", zorder=2)
    for y, label in zip(positions, labels):
        row = report.per_class[label]
        inside = row["f1"] > 0.7  # long bars carry their label inside, in white
        x, ha, colour = (
            (row["f1"] - 0.01, "right", "white") if inside else (row["f1"] + 0.01, "left", "black")
        )
        box = None if inside else {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1}
        text = f"{row['f1']:.2f} (n = {row['support']})"
        ax.text(x, y, text, va="center", ha=ha, color=colour, fontsize=10, bbox=box, zorder=3)
    title = "F1 per label"
    if "macro_f1" in report.metrics:
        ax.axvline(report.metrics["macro_f1"], color="tab:red", linestyle="--", zorder=1)
        title += f" (dashed: macro-F1 {report.metrics['macro_f1']:.3f})"
    ax.set_yticks(list(positions), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1")
    ax.set_title(title)
    return ax
