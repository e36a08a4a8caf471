"""Contextual calibration against a known bias, and pseudo-labels from a scripted LLM."""

from __future__ import annotations

import numpy as np
import pytest
from textlab_fakes import FakeLLM

from byod.textlab.calibrate import calibrate, content_free_prior
from byod.textlab.jsonl_cache import JsonlCache
from byod.textlab.llm.base import ScoringUnsupported
from byod.textlab.pseudolabel import pseudolabel


def biased_scorer(context: str, continuations) -> np.ndarray:  # noqa: ANN001
    """p(positive) = sigmoid(signal + 2): a strong prior for 'positive' on top of the text's signal."""
    last = context.rsplit("\n", 1)[-1].lower()
    signal = 1.5 * (("great" in last) - ("dull" in last))
    p_pos = 1 / (1 + np.exp(-(signal + 2.0)))
    return np.log([p_pos, 1 - p_pos])


def test_calibrate_divides_out_the_prior_by_hand() -> None:
    np.testing.assert_allclose(calibrate(np.array([0.8, 0.2]), np.array([0.8, 0.2])), [0.5, 0.5])
    np.testing.assert_allclose(
        calibrate(np.array([[0.9, 0.1]]), np.array([0.5, 0.5])), [[0.9, 0.1]]
    )
    # 0.6/0.75 : 0.4/0.25 = 0.8 : 1.6
    np.testing.assert_allclose(
        calibrate(np.array([0.6, 0.4]), np.array([0.75, 0.25])), [1 / 3, 2 / 3]
    )
    with pytest.raises(ValueError, match="prior shape"):
        calibrate(np.array([0.5, 0.5]), np.array([1.0]))


def test_calibration_fixes_a_biased_prompt(rt_task) -> None:
    llm = FakeLLM(lambda p, i: "", biased_scorer)
    prior = content_free_prior(llm, rt_task)
    p_cf = 1 / (1 + np.exp(-2.0))
    np.testing.assert_allclose(prior, [p_cf, 1 - p_cf])
    texts = ["a great film", "so dull", "great great", "dull and long"]
    raw = pseudolabel(llm, rt_task, texts, calibrated=False, progress=False)
    fixed = pseudolabel(llm, rt_task, texts, calibrated=True, progress=False)
    assert raw["label"].to_list() == ["fresh"] * 4  # the bias wins everywhere
    assert fixed["label"].to_list() == ["fresh", "rotten", "fresh", "rotten"]
    probs = fixed.select("prob_fresh", "prob_rotten").to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_pseudolabels_are_cached_per_text(rt_task, tmp_path) -> None:
    llm = FakeLLM(lambda p, i: "", biased_scorer)
    cache = JsonlCache(tmp_path / "c.jsonl")
    pseudolabel(llm, rt_task, ["great", "dull"], cache=cache, progress=False)
    calls = llm.score_calls
    again = pseudolabel(
        llm, rt_task, ["great", "dull"], cache=JsonlCache(tmp_path / "c.jsonl"), progress=False
    )
    assert llm.score_calls == calls and again.height == 2


def test_a_backend_that_cannot_score_is_refused_with_advice(rt_task) -> None:
    llm = FakeLLM(lambda p, i: "", biased_scorer)
    llm.can_score = False
    with pytest.raises(ScoringUnsupported, match="cannot score label strings"):
        pseudolabel(llm, rt_task, ["x"], progress=False)


def test_temperature_flattens_a_useless_teacher_and_keeps_a_good_one() -> None:
    from byod.textlab.calibrate import apply_temperature, fit_temperature

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 200)
    confident_random = np.where(rng.random(200)[:, None] < 0.5, [0.95, 0.05], [0.05, 0.95])
    t_bad = fit_temperature(confident_random, truth)
    assert t_bad >= 16  # no better than chance: flattened towards uniform
    np.testing.assert_allclose(
        apply_temperature(confident_random, t_bad).max(axis=1), 0.5, atol=0.05
    )
    timid_right = np.where(truth[:, None] == 0, [0.6, 0.4], [0.4, 0.6])
    assert fit_temperature(timid_right, truth) <= 0.25  # always right: sharpened
    np.testing.assert_allclose(apply_temperature(np.array([[0.5, 0.5]]), 0.3), [[0.5, 0.5]])


def test_the_teacher_is_used_only_when_it_beats_the_labels(rt_task) -> None:
    from textlab_fakes import keyword_scorer

    from byod.textlab.hypermatch import _check_teacher

    texts = [f"great fun film {i}" for i in range(6)] + [f"dull boring plot {i}" for i in range(6)]
    labels = ["fresh"] * 6 + ["rotten"] * 6
    noise = np.random.default_rng(0).normal(size=(12, 8))  # the student sees nothing useful
    good = _check_teacher(
        noise, texts, labels, [], rt_task, FakeLLM(lambda p, i: "", keyword_scorer), None
    )
    assert good["used"] and good["accuracy_on_labelled"] == 1.0
    assert good["student_cv_accuracy"] < 1.0 and good["temperature"] <= 1.0

    def contrarian(context, conts):  # noqa: ANN001, ANN202
        return keyword_scorer(context, conts)[::-1]

    bad = _check_teacher(
        noise, texts, labels, [], rt_task, FakeLLM(lambda p, i: "", contrarian), None
    )
    assert not bad["used"] and bad["accuracy_on_labelled"] == 0.0
