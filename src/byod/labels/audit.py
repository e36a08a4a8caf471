"""The PICO label audit: MultiSplit-Train-Check-Vote with a Bayesian belief per example.

Each round:

1. **MultiSplit-Train-Check.** For ``n_splits`` different random stratified K-fold splits,
   checker models trained on the other folds score each held-out example, so every example gets
   ``n_splits`` out-of-sample probability vectors.
2. **Vote.** Their geometric mean (renormalised) is the round's likelihood ``L_t(c)``. From
   round 2 on the checkers train on corrected labels, whose class prior ``π_t`` has drifted
   from the given labels' ``π_0``: their probabilities are moved back to ``π_0``, ``p(c) ·
   π_0(c) / π_t(c)`` (``evidence="shift"``, the prior-shift correction of Saerens et al.
   2002). Without it (``"probability"``, the update before) a class the checkers under-predict
   loses members each round, its prior shrinks and it is under-predicted more.
   ``"ratio"`` divides by ``π_t`` alone (Bayes' rule for a prior that is already a belief
   about the true class); it never collapses a class but boosts rare ones.
3. **Belief update** (an HMM filter over the example's labelling history)::

       b_t(c) ∝ [Σ_c' T(c' -> c) b_{t-1}(c')] · L_t(c)

   with a sticky transition ``T`` (the label persists with probability ``stay``). The prior
   ``b_0`` trusts the given label with probability ``1 - prior_error``.
4. **Guard.** More than ``max_class_flags`` of a class flagged means the checkers cannot
   recognise the class, not that its annotators were mostly wrong (the usual identifiability
   assumption: most of a class's labels are right). The checkers' evidence on that class's
   examples is then discounted (likelihoods raised to a power below 1, found by bisection)
   until at most that share of it is flagged; ``class_trust`` reports the power. On 3i4k's
   labels as given, the checkers had flagged every rhetorical command and question.
5. **Correct.** The next round's checkers train on ``argmax b_t`` (labels change only where the
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

__all__ = [
    "AuditResult",
    "audit",
    "update_posterior",
    "transition_matrix",
    "out_of_sample",
    "class_prior",
    "cap_class_flags",
]

EVIDENCE = ("ratio", "shift", "probability")

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
        class_trust: ``(K,)`` the weight the checkers' evidence got per given class (1, or
            less where the guard had to cap the class's flags).
    """

    classes: np.ndarray
    given: np.ndarray
    posterior: np.ndarray
    score: np.ndarray
    flagged: np.ndarray
    suggested: np.ndarray
    first_round_probs: np.ndarray
    history: list[dict[str, float]]
    class_trust: np.ndarray | None = None


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


def class_prior(y: np.ndarray, k: int) -> np.ndarray:
    """``(K,)`` class frequencies of labels ``y`` with one pseudo-count each (never 0)."""
    return (np.bincount(y, minlength=k) + 1.0) / (len(y) + k)


def initial_belief(y: np.ndarray, k: int, error: float) -> np.ndarray:
    """``(n, K)`` prior: each given label ``y`` right with ``1 - error``, the rest spread."""
    belief = np.full((len(y), k), error / (k - 1))
    belief[np.arange(len(y)), y] = 1 - error
    return belief


def filter_beliefs(
    belief: np.ndarray, likelihoods: list[np.ndarray], transition: np.ndarray
) -> np.ndarray:
    """The HMM filter from prior ``(n, K)`` through each round's ``(n, K)`` likelihood."""
    for likelihood in likelihoods:
        belief = update_posterior(belief, likelihood, transition)
    return belief


def cap_class_flags(
    y: np.ndarray,
    prior: np.ndarray,
    likelihoods: list[np.ndarray],
    transition: np.ndarray,
    max_share: float,
    steps: int = 20,
) -> np.ndarray:
    """``(K,)`` weight of the checkers' evidence per given class (1: full; less: capped).

    Where more than ``max_share`` of a class would be flagged, the class's rows get their
    likelihoods raised to a power ``w < 1``; the flagged share grows with ``w`` (``w = 0``
    leaves the prior, which flags nothing), so a bisection finds the largest ``w`` that keeps
    it at ``max_share`` or below. (Lowering the class's prior error instead cannot do it: the
    transition moves ``1 - stay`` of the belief off the given label every round.)
    """
    k = transition.shape[0]
    weights = np.ones(k)

    def share(c: int, w: float) -> float:
        rows = y == c
        post = filter_beliefs(prior[rows], [lk[rows] ** w for lk in likelihoods], transition)
        return float((post.argmax(axis=1) != c).mean())

    for c in np.unique(y):
        if max_share >= 1 or share(c, 1.0) <= max_share:
            continue
        lo, hi = 0.0, 1.0  # share(lo) = 0, share(hi) too high
        for _ in range(steps):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if share(c, mid) <= max_share else (lo, mid)
        weights[c] = lo
    return weights


def out_of_sample(
    x: np.ndarray, y: np.ndarray, k: int, checker: Checker, *, n_folds: int, seed: int
) -> np.ndarray:
    """``(n, K)`` probabilities from checkers that never saw the example."""
    probs = np.zeros((len(y), k))
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for train, held in folds.split(x, y):
        seen = np.unique(y[train])
        if len(seen) < 2:  # corrected labels left one class here: nothing else to learn
            probs[held, seen[0]] = 1.0
            continue
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
    evidence: str = "shift",
    max_class_flags: float = 0.5,
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
        evidence: how a round's probabilities become its likelihood: ``shift`` (moved from
            the class prior of the labels the checkers trained on to the given labels'),
            ``ratio`` (divided by the former) or ``probability`` (as they are; the update
            before ``shift``).
        max_class_flags: the largest share of one class that may be flagged (the guard; 1:
            off).
        seed: random seed.
        progress: show a progress bar over rounds x splits.
    """
    if evidence not in EVIDENCE:
        raise ByodError(f"evidence must be one of {list(EVIDENCE)}, got {evidence!r}")
    if not 0 < max_class_flags <= 1:
        raise ByodError(f"max_class_flags must be in (0, 1], got {max_class_flags}")
    x = np.asarray(x)
    # Features are numbers; a checker that reads raw texts (FineTunedChecker) gets them as is.
    x = x.astype(np.float64) if x.dtype.kind in "fiub" else x.astype(object)
    labels = np.asarray(labels, dtype=object)
    classes, y = _validate(x, labels, n_folds)
    k = len(classes)
    trans = transition_matrix(k, stay)
    prior = initial_belief(y, k, prior_error)
    log_given_prior = np.log(class_prior(y, k))  # what "shift" moves each round back to
    current, history, first, rounds = y.copy(), [], None, []
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
        log_l /= n_splits
        if evidence == "ratio":
            log_l -= np.log(class_prior(current, k))
        elif evidence == "shift":  # back to the given labels' prior; no-op in round 1
            log_l += log_given_prior - np.log(class_prior(current, k))
        rounds.append(np.exp(temper * (log_l - log_l.max(axis=1, keepdims=True))))
        trust = cap_class_flags(y, prior, rounds, trans, max_class_flags)
        belief = filter_beliefs(prior, [lk ** trust[y][:, None] for lk in rounds], trans)
        current = belief.argmax(axis=1)
        given_post = float(belief[np.arange(len(y)), y].mean())
        history.append(
            {
                "round": r + 1,
                "mean_given_posterior": given_post,
                "flagged": int((current != y).sum()),
                "capped_classes": int((trust < 1).sum()),
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
        class_trust=trust,
    )
