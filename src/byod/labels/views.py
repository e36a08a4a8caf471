"""Several views of the same texts for the label audit, and a checker that votes across them.

A checker's out-of-sample probabilities are the audit's only evidence, and cleanlab reads the
same probabilities. Encoders trained on different data (MiniLM, multilingual e5) and a bag of
words make different mistakes, so one logistic regression per view, their probabilities
combined (:class:`ViewEnsemble`), is evidence no single probe has.

A view is a block of columns of one feature matrix (:func:`stack_views`), so the audit's folds
split every view the same way and the checker stays an sklearn estimator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from byod.errors import ByodError

__all__ = ["TFIDF", "ViewEnsemble", "tfidf_view", "stack_views", "view_ensemble"]

TFIDF = "tfidf"  # the view name that means "TF-IDF of the texts", not an encoder
COMBINE = ("product", "mean")


def tfidf_view(texts: Sequence[str], dim: int = 256, seed: int = 0) -> np.ndarray:
    """``(n, dim')`` L2-normalised latent-semantic view: word 1-2-gram TF-IDF, truncated SVD.

    Fitted on the texts without their labels (nothing about the labels leaks into the folds);
    ``dim'`` is ``dim`` or less when the vocabulary is smaller.
    """
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    try:
        counts = tfidf.fit_transform(list(texts))
    except ValueError:  # every term appears once: fall back to single-use terms
        counts = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(list(texts))
    dim = min(dim, counts.shape[1] - 1, counts.shape[0] - 1)
    if dim < 1:
        raise ByodError(f"the TF-IDF view needs at least 2 texts and 2 terms; got {counts.shape}")
    x = TruncatedSVD(dim, random_state=seed).fit_transform(counts)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def stack_views(views: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """One ``(n, sum of widths)`` matrix and each view's ``(name, start, stop)`` columns."""
    if not views:
        raise ByodError("no views to stack; give at least one encoder or tfidf")
    rows = {name: len(x) for name, x in views.items()}
    if len(set(rows.values())) != 1:
        raise ByodError(f"views have different row counts: {rows}")
    blocks, start = [], 0
    for name, x in views.items():
        blocks.append((name, start, start + x.shape[1]))
        start += x.shape[1]
    return np.hstack([np.asarray(x, dtype=np.float64) for x in views.values()]), blocks


class ViewEnsemble(ClassifierMixin, BaseEstimator):
    """One logistic regression per view (a block of columns), their probabilities combined.

    Args:
        blocks: ``(name, start, stop)`` column ranges, as :func:`stack_views` returns them.
        C: inverse regularisation of every member.
        combine: ``product`` (geometric mean of the members' probabilities, renormalised: a
            class one view rules out stays unlikely, as in a product of experts) or ``mean``
            (soft voting, as sklearn's ``VotingClassifier(voting="soft")``).
    """

    def __init__(
        self, blocks: Sequence[tuple[str, int, int]], C: float = 1.0, combine: str = "product"
    ) -> None:
        self.blocks, self.C, self.combine = blocks, C, combine

    def fit(self, x: np.ndarray, y: np.ndarray) -> ViewEnsemble:
        """Fit every member on its columns of ``(n, d)`` ``x``; ``(n,)`` labels ``y``."""
        if self.combine not in COMBINE:
            raise ByodError(f"combine must be one of {COMBINE}, got {self.combine!r}")
        if not self.blocks:
            raise ByodError("ViewEnsemble needs at least one (name, start, stop) block")
        self.members_ = [
            LogisticRegression(C=self.C, max_iter=2000).fit(x[:, start:stop], y)
            for _, start, stop in self.blocks
        ]
        self.classes_ = self.members_[0].classes_
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``(n, K)`` combined probabilities over ``classes_``."""
        probs = np.stack(
            [m.predict_proba(x[:, start:stop]) for m, (_, start, stop) in zip(
                self.members_, self.blocks, strict=True)]
        )  # fmt: skip
        if self.combine == "mean":
            return probs.mean(axis=0)
        log_p = np.log(np.clip(probs, 1e-12, 1.0)).mean(axis=0)
        p = np.exp(log_p - log_p.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``(n,)`` the most likely class of each row."""
        return self.classes_[self.predict_proba(x).argmax(axis=1)]


def view_ensemble(
    blocks: Sequence[tuple[str, int, int]], C: float = 1.0, combine: str = "product"
) -> Callable[[], ViewEnsemble]:
    """A checker factory for :func:`byod.labels.audit` over the views in ``blocks``."""
    if not blocks:
        raise ByodError("view_ensemble needs at least one (name, start, stop) block")
    if combine not in COMBINE:
        raise ByodError(f"combine must be one of {COMBINE}, got {combine!r}")
    return lambda: ViewEnsemble(blocks, C=C, combine=combine)
