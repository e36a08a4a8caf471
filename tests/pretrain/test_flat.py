"""The flat comparison mode, on a tiny BERT built in memory (no packaged model needed)."""

import numpy as np
import pytest
import torch

from byod.encoders.backbone import SentenceTransformerBackbone
from byod.encoders.user import UserEncoder
from byod.pretrain.flat import FlatConfig, pretrain_flat


@pytest.fixture
def tiny_backbone(tiny_st_folder) -> SentenceTransformerBackbone:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformerBackbone(SentenceTransformer(str(tiny_st_folder)), "tiny-bert")


def test_flat_mode_trains_saves_and_reloads(tmp_path, histories, tiny_backbone) -> None:
    before = {k: v.clone() for k, v in tiny_backbone.model.state_dict().items()}
    cfg = FlatConfig(epochs=1, batch_size=8, chunk_size=4, max_tokens=64, lr=1e-3, max_steps=2)
    enc = pretrain_flat(histories, tmp_path / "flat", tiny_backbone, cfg, progress=False)
    after = tiny_backbone.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the backbone was tuned
    feats = enc.encode(histories)
    assert feats.height == histories["user_id"].n_unique()
    loaded = UserEncoder.load(tmp_path / "flat")
    again = loaded.encode(histories)
    np.testing.assert_allclose(feats["vector"].to_numpy(), again["vector"].to_numpy(), atol=1e-5)
