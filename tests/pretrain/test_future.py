import math

import numpy as np
import pytest
import torch

from byod.encoders.histories import HistoryArrays, View, collate
from byod.encoders.sequence import SequenceEncoderConfig
from byod.losses import SetSoftmaxLoss
from byod.pretrain.embedder import Embedder
from byod.pretrain.future import FutureObjective, FutureViews
from byod.pretrain.run import PretrainConfig, pretrain


def test_set_softmax_matches_a_hand_computed_case() -> None:
    items = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    users = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])  # row 2 has no target
    # row 1 logits [1, 0, 1]: log-softmax of items 0 and 2 is 1 - log(2e + 1), weight 1/2 each
    want = -(1 - math.log(2 * math.e + 1))
    assert SetSoftmaxLoss()(users, targets, items).item() == pytest.approx(want, rel=1e-6)


def test_future_objective_loss_of_a_fixed_model() -> None:
    class Fixed(torch.nn.Module):
        config = SequenceEncoderConfig(input_dim=2)

        def pool(self, vectors, mask, recency, service, ids=None, whitened=False):
            return vectors.sum(1) * 2.0  # (B, 2)

        def embed_items(self, vectors, ids=None, whitened=False):
            return vectors

    table = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    embed = Embedder(Fixed(), table, None, torch.device("cpu"))
    obj = FutureObjective(FutureViews(max_events=4, horizon=2), SetSoftmaxLoss())
    batch = collate([View(np.array([0]), np.array([0.0]), 1)])
    targets = torch.tensor([[1, 1]])  # the same item twice: all mass on item 1
    r = 2 / math.sqrt(2)  # pooled [2, 0] / sqrt(dim): logits [r, 0, r]
    want = -math.log(1 / (2 * math.exp(r) + 1))
    assert obj._loss(embed, batch, targets, None).item() == pytest.approx(want, rel=1e-6)


def test_future_targets_follow_the_past_inside_the_timeline(histories, backbone) -> None:
    arrays = HistoryArrays.build(histories, backbone)
    views = FutureViews(max_events=4, horizon=3)
    users = views.eligible(arrays)[:8]
    batch, targets = views.batch(arrays, users, np.random.default_rng(1))
    for row, u in enumerate(users):
        timeline = arrays.timeline(int(u)).events
        n = int(batch.mask[row].sum())
        fut = targets[row][targets[row] >= 0].numpy()
        joined = np.concatenate([batch.events[row, :n].numpy(), fut])
        assert len(fut) >= 1
        assert any(
            (timeline[s : s + len(joined)] == joined).all()
            for s in range(len(timeline) - len(joined) + 1)
        )


def test_pretrain_with_future_in_a_mix(histories, backbone, tmp_path) -> None:
    cfg = PretrainConfig.from_dict(
        {"objective": "future:1,slices:0.5", "max_events": 16, "views": {"horizon": 4},
         "encoder": {"dim": 16, "out_dim": 8, "heads": 2, "layers": 1},
         "train": {"epochs": 1, "batch_size": 8, "chunk_size": 4, "device": "cpu"}}
    )  # fmt: skip
    enc, state = pretrain(histories, tmp_path / "m", cfg, backbone=backbone, progress=False)
    assert math.isfinite(state.history[0]["val_future"])
    assert enc.config.views == "timeline" and enc.encode(histories).height > 0


@pytest.mark.parametrize("objective", ["future", "next-item"])
def test_the_trained_loss_is_the_loss_validation_reports(histories, backbone, objective) -> None:
    # backward() splits a batch into chunks weighted by their share of the loss's units; the
    # sum must be the batch's mean loss, what batch_loss() computes without gradients
    from byod.encoders.sequence import SequenceEncoder
    from byod.pretrain.objectives import ObjectiveMix

    arrays = HistoryArrays.build(histories, backbone)
    obj = ObjectiveMix.parse(objective, 8, {"horizon": 4}).objectives[0]
    torch.manual_seed(0)
    model = SequenceEncoder(SequenceEncoderConfig(input_dim=32, dim=16, out_dim=8, heads=2,
                                                  layers=1, causal=True)).eval()  # fmt: skip
    embed = Embedder(model, torch.from_numpy(arrays.vectors), None, torch.device("cpu"))
    users = obj.eligible(arrays)[:12]
    trained = obj.backward(embed, arrays, users, np.random.default_rng(3), chunk_size=5)
    reported = obj.batch_loss(embed, arrays, users, np.random.default_rng(3), chunk_size=12)
    assert trained == pytest.approx(reported, rel=1e-5)
