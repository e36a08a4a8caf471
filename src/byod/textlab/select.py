"""Pick the useful part of an out-of-domain pool of unlabelled texts.

Unlabelled text from another service or site helps consistency training only where it looks
like the task's data. Two selectors over sentence vectors:

* ``retrieval``: cosine similarity of each pool text to its nearest class centroid of the
  labelled examples; keep the pool texts at least as close as the ``quantile`` of the in-domain
  texts' own similarities (so the bar adapts to how tight the classes are);
* ``classifier``: logistic regression in-domain (labelled + in-domain unlabelled) vs pool, with
  out-of-fold probabilities for the pool; keep pool texts the classifier cannot tell from
  in-domain (``p(in-domain) >= threshold``).

Both return a :class:`Selection` that says how much was kept.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from byod.textlab.errors import TextlabError
from byod.vectors import l2_normalise

__all__ = [
    "Selection",
    "select_by_retrieval",
    "select_by_classifier",
    "select_pool",
    "check_selector",
    "SELECTORS",
]


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which pool texts to use.

    Attributes:
        keep: ``(n_pool,)`` bool mask.
        scores: ``(n_pool,)`` the selector's score (higher = more in-domain).
        method: ``retrieval`` or ``classifier``.
        threshold: the score a kept text reached.
    """

    keep: np.ndarray
    scores: np.ndarray
    method: str
    threshold: float

    @property
    def n_selected(self) -> int:
        """How many pool texts were kept."""
        return int(self.keep.sum())

    def summary(self) -> str:
        """One line for logs and reports."""
        n = len(self.keep)
        share = self.n_selected / n if n else 0.0
        return (
            f"{self.method}: kept {self.n_selected} of {n} pool texts ({share:.1%}; "
            f"score >= {self.threshold:.3f})"
        )


def select_by_retrieval(
    x_pool: np.ndarray,
    x_lab: np.ndarray,
    y_lab: np.ndarray,
    *,
    x_in: np.ndarray | None = None,
    quantile: float = 0.1,
) -> Selection:
    """Keep pool texts near a labelled class centroid.

    Args:
        x_pool: ``(n_pool, dim)`` pool vectors.
        x_lab: ``(n_lab, dim)`` labelled vectors.
        y_lab: ``(n_lab,)`` their labels.
        x_in: ``(n_in, dim)`` in-domain unlabelled vectors (with the labelled ones they set the
            bar); ``None``: the labelled ones alone.
        quantile: the bar is this quantile of in-domain texts' similarity to their nearest
            centroid (0.1: as close as the 90 % most typical in-domain texts).
    """
    y_lab = np.asarray(y_lab)
    centroids = l2_normalise(
        np.stack([l2_normalise(x_lab)[y_lab == c].mean(axis=0) for c in np.unique(y_lab)])
    )
    reference = l2_normalise(x_lab if x_in is None else np.vstack([x_lab, x_in]))
    bar = float(np.quantile((reference @ centroids.T).max(axis=1), quantile))
    scores = (l2_normalise(x_pool) @ centroids.T).max(axis=1)
    return Selection(scores >= bar, scores, "retrieval", bar)


def select_by_classifier(
    x_pool: np.ndarray,
    x_in: np.ndarray,
    *,
    threshold: float = 0.5,
    folds: int = 5,
    seed: int = 0,
) -> Selection:
    """Keep pool texts a domain classifier mistakes for in-domain ones.

    Args:
        x_pool: ``(n_pool, dim)`` pool vectors.
        x_in: ``(n_in, dim)`` in-domain vectors (labelled and unlabelled).
        threshold: minimum out-of-fold ``p(in-domain)`` of a kept pool text.
        folds: cross-validation folds (pool texts are scored by a model that did not see them).
        seed: fold shuffling seed.
    """
    x = np.vstack([l2_normalise(x_in), l2_normalise(x_pool)])
    domain = np.r_[np.ones(len(x_in), dtype=int), np.zeros(len(x_pool), dtype=int)]
    model = LogisticRegression(max_iter=1000, class_weight="balanced")

    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    p_in = cross_val_predict(model, x, domain, cv=cv, method="predict_proba")[:, 1]
    scores = p_in[len(x_in) :]
    return Selection(scores >= threshold, scores, "classifier", threshold)


SELECTORS = ("retrieval", "classifier")


def check_selector(method: str) -> str:
    """``method`` if it is one of :data:`SELECTORS`, else a one-line error listing them."""
    if method not in SELECTORS:
        raise TextlabError(f"pool selector {method!r} is unknown; choose one of {SELECTORS}")
    return method


def select_pool(
    method: str,
    x_pool: np.ndarray,
    x_lab: np.ndarray,
    y_lab: np.ndarray,
    x_unl: np.ndarray | None = None,
) -> Selection:
    """Run the selector ``method`` (one of :data:`SELECTORS`) over the pool.

    Args:
        method: ``retrieval`` (near a labelled class centroid) or ``classifier`` (a domain
            classifier cannot tell it from in-domain).
        x_pool: ``(n_pool, dim)`` pool vectors.
        x_lab: ``(n_lab, dim)`` labelled vectors.
        y_lab: ``(n_lab,)`` their labels.
        x_unl: ``(n_unl, dim)`` in-domain unlabelled vectors, or ``None`` / empty.
    """
    check_selector(method)
    has_unl = x_unl is not None and len(x_unl) > 0
    if method == "retrieval":
        return select_by_retrieval(
            x_pool, x_lab, np.asarray(y_lab), x_in=x_unl if has_unl else None
        )
    return select_by_classifier(x_pool, np.vstack([x_lab, x_unl]) if has_unl else x_lab)
