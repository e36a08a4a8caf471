import math

import numpy as np
import pytest

from byod.errors import ByodError
from byod.transfer.metrics import hit_rate_at_k, mrr, ndcg_at_k, ranking_metrics, truth_ranks


def test_truth_ranks_counts_greater_and_ties():
    scores = np.array([[0.9, 0.1, 0.5, 0.9], [0.2, 0.3, -np.inf, 0.1]])
    ranks, ties = truth_ranks(scores, np.array([0, 3]))
    assert ranks.tolist() == [1, 3]
    assert ties.tolist() == [1, 0]


def test_hand_computed_values_without_ties():
    ranks = np.array([1, 2, 4, 11])
    assert hit_rate_at_k(ranks, 1) == pytest.approx(0.25)
    assert hit_rate_at_k(ranks, 10) == pytest.approx(0.75)
    expected_ndcg = (1 + 1 / math.log2(3) + 1 / math.log2(5) + 0) / 4
    assert ndcg_at_k(ranks, 10) == pytest.approx(expected_ndcg)
    assert mrr(ranks) == pytest.approx((1 + 1 / 2 + 1 / 4 + 1 / 11) / 4)


def test_ties_give_the_expectation_over_random_tie_breaking():
    # truth tied with 3 others starting at rank 9: equally likely ranks 9, 10, 11, 12
    ranks, ties = np.array([9]), np.array([3])
    assert hit_rate_at_k(ranks, 10, ties=ties) == pytest.approx(2 / 4)
    assert ndcg_at_k(ranks, 10, ties=ties) == pytest.approx(
        (1 / math.log2(10) + 1 / math.log2(11)) / 4
    )
    assert mrr(ranks, ties=ties) == pytest.approx((1 / 9 + 1 / 10 + 1 / 11 + 1 / 12) / 4)


def test_brute_force_agrees_with_closed_form():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(200, 30)).astype(float)
    truth = rng.integers(0, 30, size=200)
    ranks, ties = truth_ranks(scores, truth)
    sampled = []
    for _ in range(400):
        jitter = scores + rng.random(scores.shape) * 1e-3  # random tie-breaking
        sampled.append(truth_ranks(jitter, truth)[0])
    sampled = np.stack(sampled)
    assert hit_rate_at_k(ranks, 5, ties=ties) == pytest.approx((sampled <= 5).mean(), abs=0.01)
    assert mrr(ranks, ties=ties) == pytest.approx((1 / sampled).mean(), abs=0.01)


def test_ranking_metrics_names():
    out = ranking_metrics(np.array([1, 3]))
    assert list(out) == ["hr@1", "hr@5", "hr@10", "ndcg@10", "mrr"]
    assert out["hr@1"] == 0.5


@pytest.mark.parametrize(
    "ranks, ties",
    [
        (np.array([0, 1]), None),
        (np.array([1.5]), None),
        (np.array([]), None),
        (np.array([1, 2]), np.array([1])),
        (np.array([1]), np.array([-1])),
    ],
)
def test_bad_input_is_named(ranks, ties):
    with pytest.raises(ByodError):
        mrr(ranks, ties=ties)


def test_bad_k_and_shapes():
    with pytest.raises(ByodError, match="k must"):
        hit_rate_at_k(np.array([1]), 0)
    with pytest.raises(ByodError, match="scores must be"):
        truth_ranks(np.zeros(3), np.array([0]))
    with pytest.raises(ByodError, match="non-finite"):
        truth_ranks(np.array([[-np.inf, 1.0]]), np.array([0]))
