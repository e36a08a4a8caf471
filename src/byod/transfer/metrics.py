"""Ranking metrics as plain functions over arrays.

Every metric takes the 1-based rank of the true item among its candidates and, optionally, the
number of *other* candidates whose score ties the truth's. With ties given, the value is the
expectation under uniformly random tie-breaking: recommenders tie a lot (a popularity ranking ties
the test item in most full rankings), and breaking ties in the truth's favour flatters them.

Example::

    ranks, ties = truth_ranks(scores, truth_col)      # scores (n, c), truth_col (n,)
    hit_rate_at_k(ranks, 10, ties=ties)                # mean over rows
"""

from __future__ import annotations

import numpy as np

from byod.errors import ByodError

__all__ = ["truth_ranks", "hit_rate_at_k", "ndcg_at_k", "mrr", "ranking_metrics"]


def truth_ranks(scores: np.ndarray, truth_col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Optimistic rank of each row's true item and the number of candidates tied with it.

    Args:
        scores: ``(n, c)`` candidate scores; ``-inf`` marks excluded candidates (they never tie).
        truth_col: ``(n,)`` column of the true item in each row.

    Returns:
        ``ranks`` ``(n,)`` int64, 1 + the number of candidates scored strictly higher, and
        ``ties`` ``(n,)`` int64, the number of other candidates with exactly the truth's score.

    """
    scores = np.asarray(scores)
    truth_col = np.asarray(truth_col)
    if scores.ndim != 2 or truth_col.shape != (scores.shape[0],):
        raise ByodError(
            f"scores must be (n, c) and truth_col (n,); got {scores.shape} and {truth_col.shape}"
        )
    if scores.shape[0] and not ((truth_col >= 0) & (truth_col < scores.shape[1])).all():
        raise ByodError(f"truth_col must lie in [0, {scores.shape[1]})")
    truth = scores[np.arange(len(truth_col)), truth_col][:, None]
    if not np.isfinite(truth).all():
        raise ByodError("a true item has a non-finite score (was it excluded from ranking?)")
    greater = (scores > truth).sum(axis=1)
    ties = (scores == truth).sum(axis=1) - 1
    return greater.astype(np.int64) + 1, ties.astype(np.int64)


def _check(ranks: np.ndarray, ties: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    ranks = np.asarray(ranks)
    if ranks.ndim != 1 or ranks.size == 0:
        raise ByodError(f"ranks must be a non-empty 1-D array, got shape {ranks.shape}")
    if not np.issubdtype(ranks.dtype, np.integer) or (ranks < 1).any():
        raise ByodError("ranks must be integers >= 1 (1 = the truth ranked first)")
    ties = np.zeros_like(ranks) if ties is None else np.asarray(ties)
    if ties.shape != ranks.shape or (ties < 0).any():
        raise ByodError(f"ties must be non-negative with the shape of ranks {ranks.shape}")
    return ranks.astype(np.int64), ties.astype(np.int64)


def _check_k(k: int) -> None:
    if not isinstance(k, int | np.integer) or k < 1:
        raise ByodError(f"k must be a positive integer, got {k!r}")


def _expected(gain_cumsum: np.ndarray, ranks: np.ndarray, ties: np.ndarray) -> float:
    """Mean over rows of the average gain of ranks ``ranks .. ranks + ties`` (cumsum from 0)."""
    top = np.minimum(ranks + ties, len(gain_cumsum) - 1)
    low = np.minimum(ranks - 1, len(gain_cumsum) - 1)
    return float(np.mean((gain_cumsum[top] - gain_cumsum[low]) / (ties + 1)))


def hit_rate_at_k(ranks: np.ndarray, k: int, *, ties: np.ndarray | None = None) -> float:
    """Share of rows whose truth ranks in the top ``k`` (HR@k, recall@k with one truth)."""
    ranks, ties = _check(ranks, ties)
    _check_k(k)
    return _expected(np.concatenate([[0.0], np.ones(k)]).cumsum(), ranks, ties)


def ndcg_at_k(ranks: np.ndarray, k: int, *, ties: np.ndarray | None = None) -> float:
    """NDCG@k with one relevant item: ``1 / log2(rank + 1)`` inside the top ``k``, else 0."""
    ranks, ties = _check(ranks, ties)
    _check_k(k)
    gains = 1.0 / np.log2(np.arange(1, k + 1) + 1.0)
    return _expected(np.concatenate([[0.0], gains]).cumsum(), ranks, ties)


def mrr(ranks: np.ndarray, *, ties: np.ndarray | None = None) -> float:
    """Mean reciprocal rank over the whole list (not cut at k)."""
    ranks, ties = _check(ranks, ties)
    gains = 1.0 / np.arange(1, int((ranks + ties).max()) + 1)
    return _expected(np.concatenate([[0.0], gains]).cumsum(), ranks, ties)


def ranking_metrics(
    ranks: np.ndarray, *, ties: np.ndarray | None = None, ks: tuple[int, ...] = (1, 5, 10)
) -> dict[str, float]:
    """HR@k for each ``k``, NDCG@max(k) and MRR as a ``{name: value}`` dict."""
    out = {f"hr@{k}": hit_rate_at_k(ranks, k, ties=ties) for k in ks}
    out[f"ndcg@{max(ks)}"] = ndcg_at_k(ranks, max(ks), ties=ties)
    out["mrr"] = mrr(ranks, ties=ties)
    return out
