import math

import numpy as np
import pytest
import torch

from byod.losses import SampledSoftmaxLoss, sample_candidates


def test_full_softmax_matches_a_hand_computed_case() -> None:
    items = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    states = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    # logits row 0: [2, 0, 2], target 0; row 1: [0, 1, 1], target 2
    want = (
        -math.log(math.exp(2) / (2 * math.exp(2) + 1))
        - math.log(math.exp(1) / (1 + 2 * math.exp(1)))
    ) / 2
    got = SampledSoftmaxLoss()(states, torch.tensor([0, 2]), items)
    assert got.item() == pytest.approx(want, rel=1e-6)


def test_sampled_softmax_subtracts_log_q_from_every_candidate() -> None:
    table = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [3.0, 3.0]])
    cand = torch.tensor([0, 2])  # item 1 and 3 not drawn
    log_q = torch.tensor([math.log(0.5), math.log(0.25)])
    states = torch.tensor([[2.0, 0.0]])
    # logits: [2 - log .5, 2 - log .25] = [2 + 0.693, 2 + 1.386], target item 2 -> column 1
    a, b = 2 - math.log(0.5), 2 - math.log(0.25)
    want = -math.log(math.exp(b) / (math.exp(a) + math.exp(b)))
    got = SampledSoftmaxLoss(n_negatives=1)(states, torch.tensor([2]), table[cand], cand, log_q)
    assert got.item() == pytest.approx(want, rel=1e-6)


def test_candidates_hold_every_target_and_their_inclusion_probability() -> None:
    rng = np.random.default_rng(0)
    pop = np.array([0.7, 0.1, 0.1, 0.05, 0.05])
    targets = np.array([0, 0, 3])
    cand, log_q = sample_candidates(targets, 5, 2, pop, rng)
    assert set(targets) <= set(cand) and np.all(np.diff(cand) > 0)
    rate = 3 * pop[cand] + 2 / 5
    np.testing.assert_allclose(np.exp(log_q), 1 - np.exp(-rate), rtol=1e-5)
    assert SampledSoftmaxLoss(n_negatives=8, full_below=10).sampled(11)
    assert not SampledSoftmaxLoss(n_negatives=8, full_below=10).sampled(10)
    assert not SampledSoftmaxLoss().sampled(10**6)  # 0 negatives: always full
