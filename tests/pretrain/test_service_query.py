"""Next-item queries told the service of the event asked for, and the per-service softmax."""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
import torch

from byod.data.schema import EVENT_SCHEMA
from byod.data.serialize import SerializeConfig, serialize
from byod.encoders.histories import HistoryArrays, View, collate
from byod.encoders.sequence import SequenceEncoder, SequenceEncoderConfig
from byod.encoders.user import UserEncoder
from byod.errors import ConfigError
from byod.losses import SampledSoftmaxLoss
from byod.pretrain.embedder import Embedder
from byod.pretrain.next_item import NextItemObjective, NextItemViews, item_services
from byod.pretrain.run import PretrainConfig, pretrain

TINY = {"dim": 16, "out_dim": 8, "heads": 2, "layers": 1, "dropout": 0.0}


def coin_events(n_users: int = 48, length: int = 12, seed: int = 0) -> pl.DataFrame:
    """Each user has a type k; every event is ``"<service> item k"`` in a random service.

    Which item comes next is known from the history; which *service* is a coin flip, so a
    model not told the service can give the right item at most one half.
    """
    rng = np.random.default_rng(seed)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows, seq = [], 0
    for u in range(n_users):
        for t in range(length):
            seq += 1
            service = str(rng.choice(["shop", "news"]))
            rows.append({"user_id": f"u{u}", "timestamp": t0 + timedelta(hours=t),
                         "service": service, "text": f"{service} item {u % 4}",
                         "item_id": None, "seq": seq})  # fmt: skip
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)


def test_item_services_names_each_texts_service(backbone) -> None:
    histories = serialize(coin_events(n_users=8), SerializeConfig(max_events=None))
    arrays = HistoryArrays.build(histories, backbone)
    services = item_services(arrays)
    for text, s in zip(arrays.texts, services, strict=True):
        assert arrays.services[s] == text.split()[0]


def test_a_new_query_is_the_state_and_the_service_changes_it_once_trained() -> None:
    torch.manual_seed(0)
    model = SequenceEncoder(SequenceEncoderConfig(input_dim=4, causal=True, service_query=True,
                                                  n_services=3, **TINY))  # fmt: skip
    model.eval()
    states = model.norm(torch.randn(5, 16))
    asked = torch.tensor([1, 1, 2, 2, 0])
    # zero-initialised block: norm(s + 0) of a layer-normed s is s again
    torch.testing.assert_close(model.query(states, asked), states, atol=1e-5, rtol=1e-5)
    torch.nn.init.normal_(model.query_block[-1].weight)
    one, two = model.query(states, torch.ones(5, dtype=torch.long)), model.query(states, asked)
    assert not torch.allclose(one[2:], two[2:]) and torch.allclose(one[:2], two[:2])
    plain = SequenceEncoder(SequenceEncoderConfig(input_dim=4, causal=True, **TINY))
    assert plain.query(states, asked) is states


def test_within_service_softmax_leaves_out_the_other_services_items() -> None:
    """Items 0, 1 are of service 1 and item 2 of service 2: a target 1 competes with 0 only."""

    class Fixed(torch.nn.Module):
        config = SequenceEncoderConfig(input_dim=2, causal=True)

        def states(self, vectors, mask, recency, service, ids=None, whitened=False):
            return vectors * 2.0

        def embed_items(self, vectors, ids=None, whitened=False):
            return vectors

    table = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    embed = Embedder(Fixed(), table, None, torch.device("cpu"))
    obj = NextItemObjective(NextItemViews(max_events=4, min_events=2), SampledSoftmaxLoss(),
                            within_service=True)  # fmt: skip
    obj._item_service = torch.tensor([1, 1, 2])
    batch = collate([View(np.array([0, 1]), np.array([0.0, 1.0]), 1)])
    targets = torch.tensor([[1, 2]])
    r = 2 / math.sqrt(2)
    # t=0: state [2, 0] / sqrt 2 -> logits over items {0, 1}: [r, 0], target 1;
    # t=1: target 2 is alone in its service: loss 0
    want = -math.log(1 / (math.exp(r) + 1))
    assert obj._loss(embed, batch, targets, None).item() == pytest.approx(want / 2, rel=1e-6)
    # the sampled path masks the same way (every item a candidate, log q = 0)
    cands = (torch.tensor([0, 1, 2]), torch.zeros(3))
    assert obj._loss(embed, batch, targets, cands).item() == pytest.approx(want / 2, rel=1e-6)


@pytest.fixture(scope="module")
def coin_histories() -> pl.DataFrame:
    return serialize(coin_events(), SerializeConfig(max_events=None))


def _train(histories, backbone, out, service_query: bool) -> tuple[UserEncoder, list]:
    cfg = PretrainConfig.from_dict(
        {"objective": "next-item", "max_events": 16, "patience": 50,
         "encoder": {**TINY, "service_query": service_query},
         "loss": {"within_service": False}, "optimizer": {"lr": 1e-2},
         "train": {"epochs": 25, "batch_size": 16, "chunk_size": 16, "device": "cpu"}}
    )  # fmt: skip
    enc, state = pretrain(histories, out, cfg, backbone=backbone, progress=False)
    return enc, state.history


def test_told_the_service_the_model_learns_what_a_coin_flip_hides(
    coin_histories, backbone, tmp_path
) -> None:
    told, told_log = _train(coin_histories, backbone, tmp_path / "told", True)
    blind, blind_log = _train(coin_histories, backbone, tmp_path / "blind", False)
    best = {k: min(h["val_loss"] for h in log) for k, log in (("told", told_log),
                                                              ("blind", blind_log))}  # fmt: skip
    assert best["blind"] > math.log(2) - 0.1  # nothing can beat the coin without the query
    assert best["told"] < 0.5 * best["blind"]
    loaded = UserEncoder.load(tmp_path / "told", backbone=backbone)
    assert loaded.sequence.config.service_query
    items = [f"{s} item {k}" for s in ("shop", "news") for k in range(4)]
    for service in ("shop", "news"):
        users, scores = loaded.next_item_scores(coin_histories, items, service=service)
        kinds = np.array([int(u[1:]) % 4 for u in users])
        top = scores.argmax(1)
        assert (np.array(items)[top] == [f"{service} item {k}" for k in kinds]).mean() >= 0.9
    with pytest.raises(ConfigError, match="not one this model was trained on"):
        loaded.next_item_scores(coin_histories, items, service="mail")
