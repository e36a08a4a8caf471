"""FixMatch pseudo-labels stay class-balanced: a skewed unlabelled pool does not collapse them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from byod.errors import ByodError
from byod.textlab.semisup import (
    HyperMatchHead,
    SSLConfig,
    align_distribution,
    class_balanced_weights,
)


def skewed(n_major: int, n_minor: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping 8-d Gaussian classes (means ±1 on the first axis)."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    x = rng.normal(size=(len(y), 8)).astype(np.float32)
    x[:, 0] += np.where(y == 1, 1.0, -1.0)
    return x, np.where(y == 1, "minor", "major")


def _minor_recall(balance: str) -> tuple[float, float]:
    x, y = skewed(4, 4, 0)  # the labelled set is balanced (4 per class) ...
    x_u, _ = skewed(950, 50, 100)  # ... the unlabelled pool is 95 % majority
    x_t, y_t = skewed(500, 500, 200)
    views = x_u[None] + np.random.default_rng(0).normal(scale=0.5, size=(2, *x_u.shape))
    cfg = SSLConfig(steps=300, warmup=0, threshold=0.7, balance=balance)
    pred = HyperMatchHead(cfg, seed=0).fit(x, y, x_weak=x_u, x_strong=views.astype(np.float32))
    pred = pred.predict(x_t)
    return float((pred[y_t == "minor"] == "minor").mean()), float((pred == "minor").mean())


def test_a_skewed_unlabelled_pool_does_not_collapse_onto_the_majority() -> None:
    plain_recall, plain_share = _minor_recall("none")
    recall, share = _minor_recall("align+weight")
    assert plain_share < 0.25  # plain FixMatch drifts: the minority is rarely predicted ...
    assert share > 0.35 and recall > plain_recall + 0.2  # ... the balanced targets keep it


def test_alignment_matches_the_prior_and_weights_balance_the_classes() -> None:
    q = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.4, 0.6]])
    aligned = align_distribution(q, torch.tensor([0.5, 0.5]))
    torch.testing.assert_close(aligned.sum(dim=1), torch.ones(4))
    assert aligned[:, 1].mean() > q[:, 1].mean()  # the over-claimed class is scaled down
    target, mask = torch.tensor([0, 0, 0, 1]), torch.ones(4)
    w = class_balanced_weights(target, mask, 2)
    torch.testing.assert_close(w, torch.tensor([2 / 3, 2 / 3, 2 / 3, 2.0]))
    assert float(w[:3].sum()) == pytest.approx(float(w[3])) and float(w.sum()) == 4.0
    assert float(class_balanced_weights(target, torch.zeros(4), 2).sum()) == 0.0


def test_an_unknown_balance_is_a_user_error() -> None:
    with pytest.raises(ByodError, match="balance 'majority' is unknown"):
        SSLConfig(balance="majority")
