import dataclasses
import json

import numpy as np
import polars as pl
import pytest

from byod.data.serialize import serialize
from byod.encoders.user import UserEncoder, UserEncoderConfig
from byod.errors import ByodError
from byod.pretrain.run import PretrainConfig, pretrain

TINY = {"dim": 16, "out_dim": 8, "heads": 2, "layers": 1, "dropout": 0.0, "id_buckets": 512}


@pytest.fixture(scope="module")
def hashed(histories, backbone, tmp_path_factory) -> UserEncoder:
    cfg = PretrainConfig.from_dict(
        {"objective": "next-item:1,slices:0.5", "max_events": 16, "item_ids": "hashed",
         "encoder": TINY, "train": {"epochs": 2, "batch_size": 8, "device": "cpu"}}
    )  # fmt: skip
    out = tmp_path_factory.mktemp("ids") / "m"
    pretrain(histories, out, cfg, backbone=backbone, progress=False)
    assert json.loads((out / "user_encoder.json").read_text())["item_ids"] == "hashed"
    return UserEncoder.load(out, backbone=backbone)


def _text_only(enc: UserEncoder) -> UserEncoder:
    cfg = dataclasses.replace(enc.config, item_ids="off")
    return UserEncoder(cfg, enc.backbone, enc.sequence)


def test_a_model_with_ids_embeds_a_user_whose_items_it_never_saw(hashed, events) -> None:
    new = events.filter(pl.col("user_id") == "u0").with_columns(
        user_id=pl.lit("stranger"), text=pl.concat_str(pl.lit("never seen "), pl.col("text"))
    )
    hist = serialize(new)
    vec = hashed.encode(hist)
    assert vec["user_id"].to_list() == ["stranger"]
    v = vec["vector"].to_numpy()[0]
    assert np.isfinite(v).all() and abs(np.linalg.norm(v) - 1) < 1e-5
    # unseen items fall back to their text alone: the same vector as with ids off
    np.testing.assert_allclose(v, _text_only(hashed).encode(hist)["vector"].to_numpy()[0],
                               atol=1e-6)  # fmt: skip
    texts = hist["event_texts"].explode().to_list()[:3]
    np.testing.assert_allclose(hashed.item_embeddings(texts),
                               _text_only(hashed).item_embeddings(texts), atol=1e-6)  # fmt: skip


def test_seen_items_get_their_id_embedding(hashed, histories) -> None:
    texts = histories["event_texts"].explode().unique().sort().to_list()[:5]
    with_ids, text_only = hashed.item_embeddings(texts), _text_only(hashed).item_embeddings(texts)
    assert not np.allclose(with_ids, text_only)


def test_hashed_ids_need_an_id_table(hashed) -> None:
    seq = dataclasses.replace(hashed.config.sequence, id_buckets=0)
    with pytest.raises(ByodError, match="id_buckets"):
        dataclasses.replace(hashed.config, sequence=seq)
    with pytest.raises(ByodError, match="item_ids"):
        UserEncoderConfig(backbone="b", backbone_fingerprint="f", item_ids="learned")


def _sequence(**config):  # noqa: ANN003, ANN202
    from byod.encoders.sequence import SequenceEncoder, SequenceEncoderConfig

    return SequenceEncoder(SequenceEncoderConfig(input_dim=4, dim=8, out_dim=8, heads=2, **config))


def test_exact_lookup_gives_every_seen_item_its_own_row() -> None:
    import torch

    keys = torch.tensor([7, 7 + 8, 7 + 16, 3, 3])  # three keys in one bucket modulo 8
    exact = _sequence(id_buckets=4, id_lookup="exact")
    exact.mark_seen(keys)
    rows = exact.item_ids(torch.tensor([3, 7, 15, 23, 99, 0]))
    assert rows.tolist() == [0, 1, 2, 3, -1, -1]  # sorted seen keys; unseen (99, 0) text only
    modulo = _sequence(id_buckets=8)  # the lookup of models saved before "exact"
    modulo.mark_seen(keys)
    assert modulo.item_ids(torch.tensor([7, 15, 23])).tolist() == [-1, -1, 7]  # last one wins


def test_exact_lookup_keeps_what_fits_and_pretraining_sizes_the_table(hashed, histories) -> None:
    import torch

    small = _sequence(id_buckets=2, id_lookup="exact")
    small.mark_seen(torch.tensor([30, 10, 20]))
    assert small.item_ids(torch.tensor([10, 20, 30])).tolist() == [0, 1, -1]
    assert hashed.config.sequence.id_lookup == "exact"  # what `byod pretrain` builds
    from byod.pretrain.run import sequence_config

    arrays = hashed.arrays(histories)
    cfg = PretrainConfig.from_dict({"objective": "next-item", "item_ids": "hashed"})
    seq = sequence_config(cfg, arrays)
    assert seq.id_lookup == "exact" and seq.id_buckets == len(np.unique(arrays.item_keys()))
