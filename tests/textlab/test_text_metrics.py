"""Scores the majority class cannot game, the headline rule, and curves that carry them."""

from __future__ import annotations

import numpy as np
import pytest

from byod.errors import ByodError
from byod.textlab.curve import run_curve, summarize_curve
from byod.textlab.metrics import classification_scores, headline_metric, largest_class_share


def test_a_majority_predictor_looks_bad_on_macro_f1_and_balanced_accuracy() -> None:
    truth = np.array(["a"] * 80 + ["b"] * 15 + ["c"] * 5)
    scores = classification_scores(truth, np.full(100, "a"))
    assert scores["accuracy"] == pytest.approx(0.8)
    assert scores["balanced_accuracy"] == pytest.approx(1 / 3)
    assert scores["macro_f1"] == pytest.approx((2 * 0.8 / 1.8) / 3)


def test_headline_is_macro_f1_when_the_largest_class_is_over_60_percent() -> None:
    assert largest_class_share(["a", "a", "b"]) == pytest.approx(2 / 3)
    assert headline_metric(["a"] * 61 + ["b"] * 39) == "macro_f1"
    assert headline_metric(["a"] * 60 + ["b"] * 40) == "accuracy"
    # 3i4k-like: no class over 60 %, but the largest is 15x the smallest
    assert headline_metric(["a"] * 30 + ["b"] * 30 + ["c"] * 28 + ["d"] * 2) == "macro_f1"


def test_mismatched_arrays_are_a_user_error() -> None:
    with pytest.raises(ByodError, match="equal non-empty"):
        classification_scores(["a", "b"], ["a"])


def test_curve_rows_carry_every_metric() -> None:
    labels = ["a"] * 10 + ["b"] * 10
    truth = np.array(["a"] * 9 + ["b"])
    always_a = lambda texts, ys, seed: np.full(len(truth), "a")  # noqa: E731
    curve = run_curve({"majority": always_a}, [str(i) for i in range(20)], labels, truth,
                      budgets=[1, 2], seeds=[0], progress=False)  # fmt: skip
    assert {"accuracy", "macro_f1", "balanced_accuracy"} <= set(curve.columns)
    assert summarize_curve(curve, "balanced_accuracy")["mean"].to_list() == [0.5, 0.5]
    with pytest.raises(ByodError, match="not in the curve"):
        summarize_curve(curve, "f2")
