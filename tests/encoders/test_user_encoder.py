import numpy as np
import polars as pl
import pytest
import torch

from byod.encoders.histories import HistoryArrays, collate
from byod.encoders.sequence import SequenceEncoder, SequenceEncoderConfig, recency_bucket
from byod.encoders.user import UserEncoder, UserEncoderConfig
from byod.errors import ByodError
from byod.pretrain.run import baseline_encoder


def test_history_arrays_index_every_event(histories, backbone) -> None:
    arrays = HistoryArrays.build(histories, backbone)
    assert arrays.n_histories == histories.height
    assert arrays.offsets[-1] == histories["n_events"].sum() == len(arrays.events)
    # Row h of the sorted table maps back to its texts through the vector table.
    sorted_h = histories.sort("user_id", "service")
    texts = sorted_h["event_texts"][3].to_list()
    view = arrays.view(3)
    np.testing.assert_allclose(arrays.vectors[view.events], backbone.encode(texts), atol=1e-6)
    assert arrays.services[0] == "<unknown>"


def test_collate_pads_and_counts_recency_back_from_the_last_event(histories, backbone) -> None:
    arrays = HistoryArrays.build(histories, backbone)
    long = int(np.flatnonzero(np.diff(arrays.offsets) >= 3)[0])
    views = [arrays.view(0), arrays.view(long, max_events=2)]
    batch = collate(views)
    assert batch.events.shape[0] == 2
    assert batch.mask[1].sum() == 2
    k = len(views[0].events)
    assert batch.recency[0, k - 1] == 0
    assert (batch.recency[0, :k] >= 0).all()


def test_recency_buckets_are_monotone_and_bounded() -> None:
    days = torch.tensor([[0.0, 1.0, 3.0, 30.0, 1e6]])
    b = recency_bucket(days, 24)
    assert b.tolist() == sorted(b.tolist())
    assert b.max() <= 23 and b.min() == 0


def test_sequence_encoder_ignores_padding_and_normalises() -> None:
    torch.manual_seed(0)
    model = SequenceEncoder(SequenceEncoderConfig(input_dim=8, dim=16, out_dim=12, heads=2)).eval()
    x = torch.randn(1, 3, 8)
    mask = torch.tensor([[True, True, True]])
    rec = torch.zeros(1, 3)
    svc = torch.tensor([1])
    z = model(x, mask, rec, svc)
    padded = torch.cat([x, torch.randn(1, 2, 8)], 1)
    z2 = model(padded, torch.tensor([[True, True, True, False, False]]), torch.zeros(1, 5), svc)
    assert z.shape == (1, 12)
    torch.testing.assert_close(z, z2, atol=1e-5, rtol=1e-5)
    assert torch.linalg.norm(z, dim=-1).item() == pytest.approx(1.0, abs=1e-5)


def test_zero_shot_baseline_is_the_mean_event_vector(histories, backbone) -> None:
    enc = baseline_encoder("zero-shot", histories, backbone)
    feats = enc.encode(histories)
    user = feats["user_id"][0]
    texts = histories.filter(pl.col("user_id") == user)["event_texts"].explode().to_list()
    expected = backbone.encode(texts).mean(0)
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(feats["vector"][0].to_numpy(), expected, atol=1e-5)
    assert feats.height == histories["user_id"].n_unique()


def test_save_and_load_round_trip(tmp_path, histories, backbone) -> None:
    enc = baseline_encoder("random", histories, backbone, max_events=32)
    before = enc.encode(histories)
    enc.save(tmp_path / "model")
    loaded = UserEncoder.load(tmp_path / "model", backbone=backbone)
    after = loaded.encode(histories)
    assert before["user_id"].to_list() == after["user_id"].to_list()
    np.testing.assert_allclose(before["vector"].to_numpy(), after["vector"].to_numpy(), atol=1e-6)


def test_a_different_backbone_is_refused(histories, backbone) -> None:
    from byod.encoders.hashing import HashingBackbone

    cfg = UserEncoderConfig(backbone="hashing", backbone_fingerprint="something-else", mode="mean")
    with pytest.raises(ByodError, match="fingerprint"):
        UserEncoder(cfg, HashingBackbone(32))


def test_new_users_are_embedded_from_raw_events(events, backbone) -> None:
    from byod.data.serialize import serialize

    enc = baseline_encoder("random", serialize(events), backbone)
    fresh = events.with_columns(user_id=pl.lit("new-") + pl.col("user_id"))
    out = enc.encode_events(fresh.filter(pl.col("user_id").is_in(["new-u1", "new-u2"])))
    assert sorted(out["user_id"].to_list()) == ["new-u1", "new-u2"]
    # No user id enters the model: renamed users get exactly the old users' vectors.
    old = enc.encode_events(events.filter(pl.col("user_id").is_in(["u1", "u2"])))
    np.testing.assert_allclose(
        out.sort("user_id")["vector"].to_numpy(),
        old.sort("user_id")["vector"].to_numpy(),
        atol=1e-6,
    )
