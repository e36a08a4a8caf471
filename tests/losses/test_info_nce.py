import math

import pytest
import torch

from byod.losses import InfoNCELoss


def test_matches_hand_computed_two_pairs() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    t = 0.5
    # rows: logits a@b.T/t = [[2, 1.2], [0, 1.6]]; columns: b@a.T/t = [[2, 0], [1.2, 1.6]]
    row = (-math.log(math.exp(2) / (math.exp(2) + math.exp(1.2)))
           - math.log(math.exp(1.6) / (math.exp(0) + math.exp(1.6)))) / 2  # fmt: skip
    col = (-math.log(math.exp(2) / (math.exp(2) + math.exp(0)))
           - math.log(math.exp(1.6) / (math.exp(1.2) + math.exp(1.6)))) / 2  # fmt: skip
    expected = (row + col) / 2
    assert InfoNCELoss(temperature=t)(a, b).item() == pytest.approx(expected, rel=1e-6)


def test_symmetric_in_its_arguments() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(6, 4, generator=g), dim=-1)
    b = torch.nn.functional.normalize(torch.randn(6, 4, generator=g), dim=-1)
    loss = InfoNCELoss(0.1)
    assert loss(a, b).item() == pytest.approx(loss(b, a).item(), rel=1e-6)


def test_learned_temperature_gets_a_gradient_and_fixed_does_not() -> None:
    a = torch.nn.functional.normalize(torch.randn(4, 3), dim=-1)
    learned = InfoNCELoss(0.1, learnable=True)
    learned(a, a.roll(1, 0)).backward()
    assert learned.log_scale.grad is not None and learned.log_scale.grad.abs() > 0
    assert list(InfoNCELoss(0.1).parameters()) == []
    assert learned.get_config_dict() == {"temperature": 0.1, "learnable": True}


def test_rejects_bad_shapes_and_single_pair() -> None:
    loss = InfoNCELoss()
    with pytest.raises(ValueError, match="both be"):
        loss(torch.zeros(3, 2), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="at least 2"):
        loss(torch.zeros(1, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(0.0)
