import math

import numpy as np
import polars as pl
import pytest
import torch

from byod.data.serialize import serialize
from byod.data.splits import events_before, leave_one_out
from byod.encoders.histories import HistoryArrays, View, collate
from byod.encoders.sequence import SequenceEncoder, SequenceEncoderConfig
from byod.encoders.user import UserEncoder
from byod.errors import ByodError
from byod.losses import SampledSoftmaxLoss
from byod.pretrain.embedder import Embedder
from byod.pretrain.next_item import NextItemObjective, NextItemViews
from byod.pretrain.objectives import ObjectiveMix
from byod.pretrain.run import PretrainConfig, baseline_encoder, pretrain

TINY = {"dim": 16, "out_dim": 8, "heads": 2, "layers": 1, "dropout": 0.0}


@pytest.fixture(scope="module")
def arrays(histories, backbone) -> HistoryArrays:
    return HistoryArrays.build(histories, backbone)


def test_mix_parses_next_item_with_weights() -> None:
    mix = ObjectiveMix.parse("next-item:1,clue:0.5", max_events=16, temperature=0.1)
    assert mix.names == ["next-item", "clue"] and mix.weights == [1.0, 0.5]
    assert PretrainConfig(objective="next-item").inference_views == "timeline"
    assert PretrainConfig(objective="next-item:1,clue:0.5").inference_views == "both"


def test_targets_are_each_inputs_next_event_of_the_timeline(arrays) -> None:
    views = NextItemViews(max_events=8, min_events=2)
    rng = np.random.default_rng(0)
    users = views.eligible(arrays)[:6]
    batch, targets = views.batch(arrays, users, rng)
    for row, u in enumerate(users):
        timeline = arrays.timeline(int(u)).events
        n = int(batch.mask[row].sum())
        window = np.concatenate([batch.events[row, :n].numpy(), targets[row, n - 1 : n].numpy()])
        assert (targets[row, :n].numpy() == window[1:]).all()
        assert (targets[row, n:] == -1).all()
        starts = [s for s in range(len(timeline) - n) if (timeline[s : s + n + 1] == window).all()]
        assert starts, "a window is a contiguous run of the user's timeline"


def test_target_services_keep_other_services_as_inputs_only(arrays) -> None:
    target = arrays.services[1]
    views = NextItemViews(max_events=8, min_events=2, target_services=(target,))
    users = views.eligible(arrays)[:6]
    batch, targets = views.batch(arrays, users, np.random.default_rng(0))
    _, every = NextItemViews(max_events=8, min_events=2).batch(
        arrays, users, np.random.default_rng(0)
    )
    assert len(set(batch.service[batch.mask].tolist())) > 1, "inputs hold every service"
    kept = targets >= 0
    assert kept.any() and (targets[kept] == every[kept]).all()
    # a position is a target exactly when the event after it belongs to the target service
    nxt_service = torch.roll(batch.service, -1, dims=1)
    for row in range(len(users)):
        n = int(batch.mask[row].sum())
        inner = nxt_service[row, : n - 1] == arrays.services.index(target)
        assert (kept[row, : n - 1] == inner).all()
    with pytest.raises(ByodError, match="no events of service"):
        NextItemViews(target_services=("nope",)).batch(arrays, users, np.random.default_rng(0))


def test_next_item_loss_of_a_hand_made_model_matches_the_formula() -> None:
    """One user, 2 inputs -> 2 targets; with a model whose states and items are fixed."""

    class Fixed(torch.nn.Module):
        config = SequenceEncoderConfig(input_dim=2, causal=True)

        def states(self, vectors, mask, recency, service, ids=None, whitened=False):
            return vectors * 2.0  # state at t = 2 x the event's own vector

        def embed_items(self, vectors, ids=None, whitened=False):
            return vectors

    table = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    embed = Embedder(Fixed(), table, None, torch.device("cpu"))
    obj = NextItemObjective(NextItemViews(max_events=4, min_events=2), SampledSoftmaxLoss())
    batch = collate([View(np.array([0, 1]), np.array([0.0, 1.0]), 1)])
    targets = torch.tensor([[1, 2]])
    # states are divided by sqrt(dim) = sqrt(2): with r = 2 / sqrt(2),
    # t=0: state [2, 0] -> logits [r, 0, r], target 1; t=1: state [0, 2] -> [0, r, r], target 2
    r = 2 / math.sqrt(2)
    want = -math.log(1 / (2 * math.exp(r) + 1)) - math.log(math.exp(r) / (1 + 2 * math.exp(r)))
    got = obj._loss(embed, batch, targets, None)
    assert got.item() == pytest.approx(want / 2, rel=1e-6)


def test_causal_states_do_not_see_later_events() -> None:
    torch.manual_seed(0)
    model = SequenceEncoder(SequenceEncoderConfig(input_dim=4, max_events=8, causal=True, **TINY))
    model.eval()
    v = torch.randn(1, 5, 4)
    mask = torch.ones(1, 5, dtype=torch.bool)
    days = torch.zeros(1, 5)
    service = torch.ones(1, dtype=torch.long)
    a = model.states(v, mask, days, service)
    v2 = v.clone()
    v2[0, 4] = torch.randn(4)  # change the last event only
    b = model.states(v2, mask, days, service)
    # positions from the end shift nothing here (same length), so earlier outputs are unchanged
    assert torch.allclose(a[0, :4], b[0, :4], atol=1e-6) and not torch.allclose(a[0, 4], b[0, 4])


def test_causal_states_of_a_padded_view_equal_the_view_alone() -> None:
    """The causal path drops the key-padding mask: padding after the real events changes nothing."""
    torch.manual_seed(0)
    model = SequenceEncoder(SequenceEncoderConfig(input_dim=4, max_events=8, causal=True, **TINY))
    model.eval()
    v = torch.randn(2, 6, 4)
    mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])
    days, service = torch.rand(2, 6), torch.ones(2, dtype=torch.long)
    both = model.states(v, mask, days, service)
    alone = model.states(v[1:, :3], mask[1:, :3], days[1:, :3], service[1:])
    torch.testing.assert_close(both[1, :3], alone[0], atol=1e-6, rtol=1e-5)


def test_targets_never_leak_events_across_a_split(events, backbone) -> None:
    """Next-item targets from the history side are all ordered before each user's split point."""
    split = leave_one_out(events)
    history = events_before(events, split.valid.select("user_id", "timestamp", "seq"))
    kept = pl.concat(
        [history, events.join(split.valid.select("user_id"), on="user_id", how="anti")]
    )
    assert kept.height == split.history.height
    arrays = HistoryArrays.build(serialize(split.history), backbone)
    limits = split.history.group_by("user_id").agg(pl.col("timestamp").max())
    days = [t.timestamp() / 86_400 for t in limits["timestamp"]]
    last_day = dict(zip(limits["user_id"], days, strict=True))
    held_out = set(split.valid["text"]) | set(split.test["text"])
    views = NextItemViews(max_events=64, min_events=2)
    rng = np.random.default_rng(5)
    for _ in range(3):
        for u in views.eligible(arrays):
            w = views.window(arrays, int(u), rng)
            assert w.days.max() <= last_day[arrays.user_ids[u]] + 1e-9
    # every target text is a text of the history side (held-out texts may also occur earlier)
    assert set(arrays.texts) <= set(split.history["text"])
    assert held_out  # the split did hold events out


def test_pretrain_next_item_mix_scores_items_and_saves_its_settings(
    histories, backbone, tmp_path
) -> None:
    cfg = PretrainConfig.from_dict(
        {"objective": "next-item:1,clue:0.5", "max_events": 16, "encoder": TINY,
         "train": {"epochs": 2, "batch_size": 8, "chunk_size": 4, "device": "cpu"}}
    )  # fmt: skip
    enc, state = pretrain(histories, tmp_path / "m", cfg, backbone=backbone, progress=False)
    assert "val_next-item" in state.history[-1] and "val_clue" in state.history[-1]
    loaded = UserEncoder.load(tmp_path / "m", backbone=backbone)
    assert loaded.config.item_ids == "off" and loaded.sequence.config.causal
    items = sorted(set(histories["event_texts"].explode().to_list()))[:10]
    users, scores = loaded.next_item_scores(histories, items)
    assert scores.shape == (len(users), 10) and np.isfinite(scores).all()
    # the dot product of the user state with the item table, nothing else
    arrays = loaded.arrays(histories)
    manual = loaded.user_states(arrays) @ loaded.item_embeddings(items).T
    np.testing.assert_allclose(scores, manual, rtol=1e-5, atol=1e-5)
    assert loaded.encode(histories).height == len(users)


def test_training_lowers_the_next_item_loss(histories, backbone, tmp_path) -> None:
    cfg = PretrainConfig.from_dict(
        {"objective": "next-item", "max_events": 16, "encoder": TINY, "patience": 10,
         "optimizer": {"lr": 3e-3},
         "train": {"epochs": 6, "batch_size": 8, "chunk_size": 8, "device": "cpu"}}
    )  # fmt: skip
    _, state = pretrain(histories, tmp_path / "m", cfg, backbone=backbone, progress=False)
    assert state.history[-1]["train_loss"] < state.history[0]["train_loss"]


def test_sampled_softmax_path_trains(histories, backbone, tmp_path) -> None:
    cfg = PretrainConfig.from_dict(
        {"objective": "next-item", "max_events": 16, "encoder": TINY,
         "loss": {"negatives": 16, "full_below": 10},
         "train": {"epochs": 1, "batch_size": 8, "chunk_size": 4, "device": "cpu"}}
    )  # fmt: skip
    _, state = pretrain(histories, tmp_path / "m", cfg, backbone=backbone, progress=False)
    assert math.isfinite(state.history[0]["train_loss"])


def test_a_model_without_next_item_cannot_score(histories, backbone) -> None:
    enc = baseline_encoder("random", histories, backbone)
    with pytest.raises(ByodError, match="next-item"):
        enc.next_item_scores(histories, ["x"])
