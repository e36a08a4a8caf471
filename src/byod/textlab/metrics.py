"""Classification scores that the majority class cannot game, and which one to headline.

Accuracy alone rewards a classifier that drifts to the majority class on an imbalanced set, so
every textlab result carries macro-F1 (the unweighted mean of per-class F1) and balanced accuracy
(the mean per-class recall) beside it. :func:`headline_metric` picks the number to lead with:
macro-F1 when the set is imbalanced, else accuracy. Imbalanced: the largest class holds more
than :data:`IMBALANCED_SHARE` of the labels, or is at least :data:`IMBALANCED_RATIO` times the
smallest (3i4k: statement 30 %, rhetorical command 2 %: a 7-class set where always answering
"statement" is useless, though no class is over 60 %).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score

from byod.textlab.errors import ShapeError

__all__ = [
    "METRICS",
    "IMBALANCED_SHARE",
    "IMBALANCED_RATIO",
    "is_imbalanced",
    "classification_scores",
    "largest_class_share",
    "headline_metric",
]

METRICS = ("accuracy", "macro_f1", "balanced_accuracy")
IMBALANCED_SHARE = 0.6
IMBALANCED_RATIO = 10.0


def classification_scores(truth: Sequence, pred: Sequence) -> dict[str, float]:
    """Accuracy, macro-F1 and balanced accuracy of ``(n,)`` predictions against ``(n,)`` truth.

    Macro-F1 averages over the classes present in either array, so predicting a class the test set
    lacks costs points, and never predicting a real class scores 0 for it.
    """
    truth, pred = np.asarray(truth).astype(str), np.asarray(pred).astype(str)
    if truth.shape != pred.shape or truth.ndim != 1 or not len(truth):
        raise ShapeError(f"need two equal non-empty (n,) arrays; got {truth.shape}, {pred.shape}")
    with warnings.catch_warnings():  # a predicted class absent from the truth is scored, not news
        warnings.simplefilter("ignore", UserWarning)
        balanced = float(balanced_accuracy_score(truth, pred))
    return {
        "accuracy": float((truth == pred).mean()),
        "macro_f1": float(f1_score(truth, pred, average="macro", zero_division=0)),
        "balanced_accuracy": balanced,
    }


def largest_class_share(labels: Sequence) -> float:
    """Share of the most frequent label in ``(n,)`` labels."""
    _, counts = np.unique(np.asarray(labels).astype(str), return_counts=True)
    return float(counts.max() / counts.sum()) if len(counts) else 0.0


def is_imbalanced(labels: Sequence) -> bool:
    """Largest class over :data:`IMBALANCED_SHARE`, or :data:`IMBALANCED_RATIO` × the smallest."""
    _, counts = np.unique(np.asarray(labels).astype(str), return_counts=True)
    if not len(counts):
        return False
    share = counts.max() / counts.sum()
    return bool(share > IMBALANCED_SHARE or counts.max() >= IMBALANCED_RATIO * counts.min())


def headline_metric(labels: Sequence) -> str:
    """``macro_f1`` on an imbalanced set (:func:`is_imbalanced`), else ``accuracy``."""
    return "macro_f1" if is_imbalanced(labels) else "accuracy"
