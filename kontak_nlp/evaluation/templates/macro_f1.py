"""An ``evaluate`` metric shipped with kontak_nlp: macro (or weighted) F1 over label names, offline.

Load it by path, so no network is needed:

Example:
    >>> import evaluate
    >>> from kontak_nlp.evaluation.metrics import EVALUATE_METRIC_PATH
    >>> metric = evaluate.load(str(EVALUATE_METRIC_PATH))  # doctest: +SKIP
    >>> metric.compute(predictions=["demand", "background"],
    ...                references=["demand", "demand"])  # doctest: +SKIP
    {'macro_f1': 0.3333333333333333}
"""

from __future__ import annotations

import datasets
import evaluate
from sklearn.metrics import f1_score

_DESCRIPTION = """Macro-averaged F1 (or weighted, with average="weighted") of string labels, computed with
scikit-learn's f1_score. Without `labels`, macro-F1 averages over the labels that occur in the
references or the predictions, which is what kontak_nlp's evaluation harness reports."""

_KWARGS = """
Args:
    predictions (list of str): Predicted labels.
    references (list of str): Gold labels.
    labels (list of str, optional): Labels to average over (default: those present).
    average (str): "macro" (default) or "weighted".
Returns:
    macro_f1 or weighted_f1 (float): The F1 score, between 0 and 1.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class MacroF1(evaluate.Metric):
    """Macro or weighted F1 of string labels."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            reference_urls=[
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.f1_score.html"
            ],
        )

    def _compute(
        self,
        predictions: list[str],
        references: list[str],
        labels: list[str] | None = None,
        average: str = "macro",
    ) -> dict[str, float]:
        if average not in ("macro", "weighted"):
            raise ValueError(f"average must be 'macro' or 'weighted', got {average!r}")
        score = f1_score(references, predictions, labels=labels, average=average, zero_division=0)
        return {f"{average}_f1": float(score)}
