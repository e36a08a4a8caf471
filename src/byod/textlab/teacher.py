"""Is the LLM a teacher worth listening to? A test on the few labelled texts.

HyperMatch lets the LLM label the labelled texts it was not shown, then decides from those few
answers. Two conditions, both needed:

1. **It beats the bar by more than luck.** The bar is the best of chance (``1 / K``), the
   majority rate of the checked texts and the labels-alone baseline (cross-validated logistic
   regression on the labelled vectors). With 16 texts a coin scores 0.56 or more one time in
   four, so "accuracy above the bar" is not enough: a one-sided binomial test
   (``scipy.stats.binomtest``) must reject "its accuracy is at most the bar" at ``alpha``.
   On 16 binary texts at a bar of 0.5 that takes 12 correct (p = 0.038).
2. **Its soft labels carry information after calibration.** The temperature fitted on the same
   texts flattens a teacher whose confidence is not earned; one flattened to near-uniform
   (mean max-probability below ``1/K + margin · (1 − 1/K)``, i.e. 0.55 for two labels) would
   only add noise as a distillation target, so it is rejected too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import binomtest

from byod.textlab.calibrate import apply_temperature

__all__ = ["judge_teacher"]


def judge_teacher(
    probs: np.ndarray,
    truth: np.ndarray,
    *,
    baseline_accuracy: float | None = None,
    temperature: float = 1.0,
    alpha: float = 0.05,
    margin: float = 0.1,
) -> dict[str, Any]:
    """Decide whether to use a teacher from its answers on labelled texts.

    Args:
        probs: ``(n, K)`` the teacher's label distributions (before the temperature).
        truth: ``(n,)`` true label indices.
        baseline_accuracy: the labels-alone accuracy to beat (``None``: not available).
        temperature: the temperature fitted for the teacher (applied to judge informativeness).
        alpha: significance level of the one-sided binomial test.
        margin: how far above ``1/K`` the mean max-probability must be, as a share of the gap
            between ``1/K`` and 1.

    Returns:
        The decision and its numbers: ``used``, ``reason``, ``accuracy_on_labelled``,
        ``n_checked``, ``correct``, ``chance``, ``majority_rate``, ``student_cv_accuracy``,
        ``bar``, ``p_value``, ``alpha``, ``temperature``, ``mean_max_probability``,
        ``informative_bar``.
    """
    probs = np.asarray(probs, dtype=np.float64)
    truth = np.asarray(truth, dtype=int)
    n, k = probs.shape[0], probs.shape[1]
    correct = int((probs.argmax(axis=1) == truth).sum()) if n else 0
    chance = 1.0 / k
    majority = float(np.bincount(truth, minlength=k).max() / n) if n else 1.0
    bar = max(chance, majority, baseline_accuracy or 0.0)
    p_value = float(binomtest(correct, n, bar, alternative="greater").pvalue) if n else 1.0
    mean_max = float(apply_temperature(probs, temperature).max(axis=1).mean()) if n else chance
    informative_bar = chance + margin * (1.0 - chance)
    beats, informative = p_value < alpha, mean_max >= informative_bar
    if not beats:
        reason = (f"{correct}/{n} correct does not beat the bar {bar:.3f} "
                  f"(binomial p = {p_value:.3g} >= {alpha})")  # fmt: skip
    elif not informative:
        reason = (f"flattened to near-uniform by temperature {temperature:.3g} (mean max "
                  f"probability {mean_max:.3f} < {informative_bar:.3f})")  # fmt: skip
    else:
        reason = f"{correct}/{n} correct beats the bar {bar:.3f} (binomial p = {p_value:.3g})"
    return {
        "used": bool(beats and informative),
        "reason": reason,
        "accuracy_on_labelled": correct / n if n else 0.0,
        "n_checked": n,
        "correct": correct,
        "chance": chance,
        "majority_rate": majority,
        "student_cv_accuracy": baseline_accuracy,
        "bar": bar,
        "p_value": p_value,
        "alpha": alpha,
        "temperature": float(temperature),
        "mean_max_probability": mean_max,
        "informative_bar": informative_bar,
    }
