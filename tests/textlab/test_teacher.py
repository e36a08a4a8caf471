"""The teacher check: beat chance and the labels alone by more than luck, and stay informative."""

from __future__ import annotations

import numpy as np
import pytest

from byod.textlab.calibrate import fit_temperature
from byod.textlab.teacher import judge_teacher


def _answers(truth: np.ndarray, right: np.ndarray, confidence: float) -> np.ndarray:
    """``(n, 2)`` distributions putting ``confidence`` on the true label where ``right``."""
    guess = np.where(right, truth, 1 - truth)
    probs = np.full((len(truth), 2), 1 - confidence)
    probs[np.arange(len(truth)), guess] = confidence
    return probs


TRUTH = np.array([0, 1] * 8)  # 16 labelled texts, 8 per class, as in the issue


def test_a_coin_flip_teacher_is_rejected_even_when_the_student_is_below_chance() -> None:
    rng = np.random.default_rng(0)
    coin = _answers(TRUTH, rng.random(16) < 0.5, 0.9)
    coin_right = int((coin.argmax(1) == TRUTH).sum())
    t = fit_temperature(coin, TRUTH)
    decision = judge_teacher(coin, TRUTH, baseline_accuracy=0.32, temperature=t)
    assert not decision["used"] and decision["bar"] == 0.5  # chance, not the 0.32 student
    assert decision["correct"] == coin_right and decision["p_value"] > 0.05
    # A lucky coin (9/16 = 0.56 > 0.5) still fails: the binomial test asks for 12 of 16.
    lucky = _answers(TRUTH, np.arange(16) < 9, 0.9)
    assert not judge_teacher(lucky, TRUTH, baseline_accuracy=0.4)["used"]
    assert judge_teacher(_answers(TRUTH, np.arange(16) < 12, 0.9), TRUTH)["used"]
    assert not judge_teacher(_answers(TRUTH, np.arange(16) < 11, 0.9), TRUTH)["used"]


def test_an_informative_teacher_is_accepted_and_its_numbers_recorded() -> None:
    good = _answers(TRUTH, np.arange(16) != 3, 0.8)  # 15 of 16
    t = fit_temperature(good, TRUTH)
    decision = judge_teacher(good, TRUTH, baseline_accuracy=0.6, temperature=t)
    assert decision["used"] and decision["correct"] == 15 and decision["bar"] == 0.6
    assert decision["p_value"] == pytest.approx(0.6**16 + 16 * 0.6**15 * 0.4, rel=1e-9)
    assert decision["mean_max_probability"] > decision["informative_bar"] == 0.55
    assert "15/16 correct beats the bar 0.600" in decision["reason"]


def test_a_teacher_that_must_beat_a_strong_student_is_rejected() -> None:
    good = _answers(TRUTH, np.arange(16) != 3, 0.8)
    assert not judge_teacher(good, TRUTH, baseline_accuracy=0.95)["used"]


def test_a_flattened_teacher_is_rejected() -> None:
    right = _answers(TRUTH, np.ones(16, dtype=bool), 0.9)
    decision = judge_teacher(right, TRUTH, temperature=64.0)  # the temperature
    assert not decision["used"] and decision["p_value"] < 0.05
    assert decision["mean_max_probability"] < 0.52 and "near-uniform" in decision["reason"]


def test_majority_rate_is_part_of_the_bar() -> None:
    truth = np.array([0] * 14 + [1] * 2)
    always_zero = np.tile([0.9, 0.1], (16, 1))  # 14/16 right, only by predicting the majority
    decision = judge_teacher(always_zero, truth)
    assert decision["majority_rate"] == 0.875 and not decision["used"]
