"""Small value types shared across the library: labels and predictions."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The four labels of the diplomatic-news task, in the order the default model uses.
DEFAULT_LABELS: tuple[str, ...] = ("meeting_report", "position_statement", "demand", "background")


@dataclass(frozen=True)
class Prediction:
    """The label a model gives one text.

    Attributes:
        text: The input text, unchanged.
        label: The most probable label.
        score: Its probability (temperature-calibrated when the model stores a temperature).
        scores: Probabilities per label, highest first (all labels, or the ``top_k`` best).

    Example:
        >>> p = Prediction("Keduanya bertemu di Tokyo.", "meeting_report", 0.91, {"meeting_report": 0.91})
        >>> p.label
        'meeting_report'
    """

    text: str
    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable dict."""
        return {"text": self.text, "label": self.label, "score": self.score, "scores": dict(self.scores)}
