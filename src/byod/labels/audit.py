"""The PICO label audit: MultiSplit-Train-Check-Vote with a Bayesian belief per example.

Each round:

1. **MultiSplit-Train-Check.** For ``n_splits`` different random stratified K-fold splits,
   checker models trained on the other folds score each held-out example, so every example gets
   ``n_splits`` out-of-sample probability vectors.
2. **Vote.** Their geometric mean (renormalised) is the round's likelihood ``L_i(c)``.
3. **Belief update** (an HMM filter over the example's labelling history)::

       b_t(c) ∝ [Σ_c' T(c' -> c) b_{t-1}(c')] · L_t(c)

   with a sticky transition ``T`` (the label persists with probability ``stay``). The prior
   ``b_0`` trusts the given label with probability ``1 - prior_error``.
4. **Correct.** The next round's checkers train on ``argmax b_t`` (labels change only where the
   belief moved), so errors found early stop teaching the checkers.

Per example the result gives the posterior, a label-quality score (the posterior of the given
label), a flag (another label is more probable than the given one) and the suggested label.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from byod.errors import ByodError
from byod.progress import Progress

__all__ = ["AuditResult", "audit", "update_posterior", "transition_matrix", "out_of_sample"]

Checker = Callable[[], Any]  # returns an unfitted sklearn-style classifier with predict_proba


def default_checker() -> LogisticRegression:
    """Encoder embeddings + logistic regression: the fast default checker."""
    return LogisticRegression(C=1.0, max_iter=2000)


@dataclasses.dataclass
class AuditResult:
    """Per-example outcome of :func:`audit`.

    Attributes:
        classes: ``(K,)`` the label values, in posterior column order.
        given: ``(n,)`` the given labels.
        posterior: ``(n, K)`` belief over labels after the last round.
        score: ``(n,)`` label quality: the posterior of the given label (low = suspect).
        flagged: ``(n,)`` True where another label is more probable than the given one.
        suggested: ``(n,)`` the most probable label.
        first_round_probs: ``(n, K)`` round-1 out-of-sample probabilities (for comparisons).
        history: per round, the mean posterior of the given label and the number flagged.
    """

    classes: np.ndarray
    given: np.ndarray
    posterior: np.ndarray
    score: np.ndarray
    flagged: np.ndarray
    suggested: np.ndarray
    first_round_probs: np.ndarray
    history: list[dict[str, float]]


def transition_matrix(k: int, stay: float) -> np.ndarray:
    """``(K, K)`` sticky transition: ``stay`` on the diagonal, the rest spread evenly."""
    t = np.full((k, k), (1 - stay) / (k - 1))
    np.fill_diagonal(t, stay)
    return t


def update_posterior(
    belief: np.ndarray, likelihood: np.ndarray, transition: np.ndarray
) -> np.ndarray:
    """One HMM filter step: ``(n, K)`` belief, ``(n, K)`` likelihood, ``(K, K)`` transition."""
    predicted = belief @ transition
    post = predicted * likelihood
    return post / post.sum(axis=1, keepdims=True)


def out_of_sample(
    x: np.ndarray, y: np.ndarray, k: int, checker: Checker, *, n_folds: int, seed: int
) -> np.ndarray:
    """``(n, K)`` probabilities from checkers that never saw the example."""
    probs = np.zeros((len(y), k))
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for train, held in folds.split(x, y):
        model = checker()
        model.fit(x[train], y[train])
        probs[np.ix_(held, model.classes_)] = model.predict_proba(x[held])
    return probs


def _validate(x: np.ndarray, labels: np.ndarray, n_folds: int) -> tuple[np.ndarray, np.ndarray]:
    if len(x) != len(labels):
        raise ByodError(
            f"features have {len(x)} rows but labels have {len(labels)}; they must match"
        )
    if len(labels) and any(v is None or (isinstance(v, float) and np.isnan(v)) for v in labels):
        raise ByodError("labels contain missing values (None / NaN); drop or fill them first")
    if np.asarray(x).dtype.kind in "fiu" and not np.isfinite(x).all():
        raise ByodError("features contain NaN or infinite values")
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ByodError(
            f"labels have {len(classes)} class ({classes.tolist()}); the audit needs at least 2"
        )
    counts = np.bincount(y)
    small = [str(classes[i]) for i in np.flatnonzero(counts < n_folds)]
    if small:
        raise ByodError(
            f"class(es) {small} have fewer examples than n_folds={n_folds}; "
            "lower n_folds or merge rare classes"
        )
    return classes, y


def audit(
    x: np.ndarray,
    labels: np.ndarray,
    *,
    n_splits: int = 3,
    n_folds: int = 5,
    n_rounds: int = 3,
    checker: Checker = default_checker,
    prior_error: float = 0.2,
    stay: float = 0.9,
    temper: float = 1.0,
    seed: int = 0,
    progress: bool = False,
) -> AuditResult:
    """Audit ``labels`` of ``x``: ``(n, d)`` features (e.g. sentence embeddings), ``(n,)`` labels.

    Args:
        x: ``(n, d)`` features.
        labels: ``(n,)`` given labels (any type).
        n_splits: different random K-fold splits per round (the voters).
        n_folds: folds per split.
        n_rounds: belief updates (each retrains the checkers on the corrected labels).
        checker: a factory of sklearn-style classifiers with ``predict_proba``; the default
            reads features, :class:`byod.labels.finetune.FineTunedChecker` reads texts.
        prior_error: prior probability that a given label is wrong.
        stay: probability that a label persists between rounds (the HMM transition).
        temper: exponent on the round likelihood (< 1 trusts the checkers less).
        seed: random seed.
        progress: show a progress bar over rounds x splits.
    """
    x = np.asarray(x)
    # Features are numbers; a checker that reads raw texts (FineTunedChecker) gets them as is.
    x = x.astype(np.float64) if x.dtype.kind in "fiub" else x.astype(object)
    labels = np.asarray(labels, dtype=object)
    classes, y = _validate(x, labels, n_folds)
    k = len(classes)
    belief = np.full((len(y), k), prior_error / (k - 1))
    belief[np.arange(len(y)), y] = 1 - prior_error
    trans = transition_matrix(k, stay)
    current, history, first = y.copy(), [], None
    bar = Progress(n_rounds * n_splits, "audit (rounds x splits)", "split", enabled=progress)
    for r in range(n_rounds):
        log_l = np.zeros((len(y), k))
        for s in range(n_splits):
            p = out_of_sample(
                x, current, k, checker, n_folds=n_folds, seed=seed * 1000 + r * 100 + s
            )
            first = p if first is None and s == 0 else first
            log_l += np.log(np.clip(p, 1e-6, 1.0))
            bar.update(1)
        likelihood = np.exp(temper * (log_l / n_splits))
        belief = update_posterior(belief, likelihood, trans)
        current = belief.argmax(axis=1)
        given_post = float(belief[np.arange(len(y)), y].mean())
        history.append(
            {
                "round": r + 1,
                "mean_given_posterior": given_post,
                "flagged": int((current != y).sum()),
            }
        )
    bar.close()
    score = belief[np.arange(len(y)), y]
    return AuditResult(
        classes=classes,
        given=labels,
        posterior=belief,
        score=score,
        flagged=current != y,
        suggested=classes[current],
        first_round_probs=first,
        history=history,
    )
