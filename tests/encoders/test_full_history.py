"""The feature vector: before the projection head, over the full history in chunks."""

import numpy as np
import polars as pl
import pytest
import torch

from byod.encoders.histories import HistoryArrays, collate
from byod.encoders.sequence import SequenceEncoder, SequenceEncoderConfig
from byod.encoders.user import UserEncoder, UserEncoderConfig


def _encoder(arrays: HistoryArrays, backbone, views: str = "services", feature: str = "pooled"):
    torch.manual_seed(0)
    seq_cfg = SequenceEncoderConfig(input_dim=arrays.vectors.shape[1], dim=12, out_dim=6, heads=2,
                                    layers=1, max_events=4, n_services=len(arrays.services))  # fmt: skip
    cfg = UserEncoderConfig(backbone=backbone.name, backbone_fingerprint=backbone.fingerprint,
                            sequence=seq_cfg, services=tuple(arrays.services), max_events=4,
                            views=views, feature=feature)  # fmt: skip
    return UserEncoder(cfg, backbone, SequenceEncoder(seq_cfg))


def _pool(enc: UserEncoder, table: torch.Tensor, views) -> np.ndarray:
    b = collate(views)
    with torch.no_grad():
        return enc.sequence.pool(table[b.events], b.mask, b.recency, b.service).numpy()


def test_every_event_of_a_long_history_counts_in_chunks(histories, backbone) -> None:
    arrays = HistoryArrays.build(histories, backbone)
    enc = _encoder(arrays, backbone)
    table = torch.from_numpy(arrays.vectors)
    got = enc.encode_arrays(arrays)
    assert got.shape == (len(arrays.user_ids), 12)  # pooled width, not the head's 6
    user = int(np.argmax([sum(np.diff(arrays.offsets)[arrays.by_user[u]]) for u in
                          range(len(arrays.user_ids))]))  # fmt: skip
    per_hist = []
    for h in arrays.by_user[user]:
        n = int(arrays.offsets[h + 1] - arrays.offsets[h])
        spans = [(max(0, stop - 4), stop) for stop in range(n, 0, -4)]
        assert n > 4 and len(spans) >= 2  # the fixture's histories are longer than one chunk
        chunks = [arrays.slice(int(h), a, b) for a, b in spans]
        feats = _pool(enc, table, chunks)
        weights = np.array([b - a for a, b in spans], dtype=np.float32)
        per_hist.append((feats * weights[:, None]).sum(0) / weights.sum())
    expected = np.mean(per_hist, axis=0)
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(got[user], expected, atol=1e-5)


def test_the_oldest_event_changes_the_vector(histories, backbone) -> None:
    """The old encoder read only the last max_events; now the oldest event matters too."""
    arrays = HistoryArrays.build(histories, backbone)
    enc = _encoder(arrays, backbone)
    longest = histories.sort("n_events", descending=True).head(1)
    mine = histories.join(longest.select("user_id", "service"), on=["user_id", "service"])
    changed = mine.with_columns(
        event_texts=pl.col("event_texts").list.eval(
            pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("zzz other")).otherwise(pl.element())
        )
    )
    assert mine["n_events"][0] > 4
    a = enc.encode(mine)["vector"].to_numpy()
    b = enc.encode(changed)["vector"].to_numpy()
    assert not np.allclose(a, b, atol=1e-4)


def test_timeline_views_and_projected_features(histories, backbone) -> None:
    arrays = HistoryArrays.build(histories, backbone)
    enc = _encoder(arrays, backbone, views="timeline")
    table = torch.from_numpy(arrays.vectors)
    got = enc.encode_arrays(arrays)
    n = arrays.timeline_length(0)
    spans = [(max(0, stop - 4), stop) for stop in range(n, 0, -4)]
    feats = _pool(enc, table, [arrays.timeline(0, a, b) for a, b in spans])
    weights = np.array([b - a for a, b in spans], dtype=np.float32)
    expected = (feats * weights[:, None]).sum(0) / weights.sum()
    np.testing.assert_allclose(got[0], expected / np.linalg.norm(expected), atol=1e-5)
    both = _encoder(arrays, backbone, views="both").encode_arrays(arrays)
    services = _encoder(arrays, backbone, views="services").encode_arrays(arrays)
    mean = got + services
    np.testing.assert_allclose(both, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-5)
    projected = _encoder(arrays, backbone, feature="projected")
    assert projected.dim == 6 and projected.encode_arrays(arrays).shape[1] == 6


def test_bad_views_or_feature_are_refused(backbone) -> None:
    from byod.errors import ByodError

    with pytest.raises(ByodError, match="views must be one of"):
        UserEncoderConfig(backbone="b", backbone_fingerprint="f", views="all")
    with pytest.raises(ByodError, match="feature must be one of"):
        UserEncoderConfig(backbone="b", backbone_fingerprint="f", feature="head")
