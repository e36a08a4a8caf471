import numpy as np
import polars as pl
from test_nextitem import many_items

from byod.data.schema import EVENT_SCHEMA
from byod.data.serialize import serialize
from byod.pretrain.run import PretrainConfig, pretrain
from byod.transfer.nextitem import (
    evaluate_scores,
    events_before_targets,
    item_event_texts,
    model_scores,
    next_item_task,
)


def test_model_scores_are_a_source_beside_the_heads(backbone, tmp_path) -> None:
    inter = many_items(n_users=12, n_items=40)
    events = inter.select(
        "user_id", "timestamp", service=pl.lit("shop"), text=pl.col("item_text"),
        item_id=pl.col("item_id"), seq=pl.col("seq"),
    ).cast(EVENT_SCHEMA)  # fmt: skip
    task = next_item_task(inter, n_negatives=10)
    valid = task.role("valid").select("user_id", "timestamp", "seq")
    train = events_before_targets(events, valid)
    cfg = PretrainConfig.from_dict(
        {"objective": "next-item", "max_events": 8, "item_ids": "hashed",
         "encoder": {"dim": 16, "out_dim": 8, "heads": 2, "layers": 1, "id_buckets": 256},
         "train": {"epochs": 1, "batch_size": 4, "device": "cpu"}}
    )  # fmt: skip
    enc, _ = pretrain(serialize(train), tmp_path / "m", cfg, backbone=backbone, progress=False)
    scores = model_scores(task, enc, events)
    assert scores.shape == (len(task.test_users), task.items.height)
    rows = evaluate_scores(task, scores, "model scores")
    assert set(rows["protocol"]) == {f"sampled-{task.negatives.shape[1]}", "full"}
    # row i is test user i, scored from its events before the test target only
    u = task.test_users[3]
    hist = serialize(events_before_targets(events, task.test.filter(pl.col("user_id") == u)))
    _, own = enc.next_item_scores(hist, task.items["item_text"].to_list())
    np.testing.assert_allclose(scores[3], own[0], rtol=1e-5, atol=1e-5)


def test_an_item_written_several_ways_scores_as_the_sum_of_its_texts(backbone, tmp_path) -> None:
    # MovieLens writes the rating into the event text: the model predicts texts, the task ranks
    # items, so an item's probability is the sum over the texts it appears as.
    inter = many_items(n_users=12, n_items=40)
    rated = pl.concat_str([pl.col("item_text"), (pl.col("seq") % 2 + 4).cast(pl.Utf8)],
                          separator=" | rated ")  # fmt: skip
    events = inter.select(
        "user_id", "timestamp", service=pl.lit("shop"), text=rated,
        item_id=pl.col("item_id"), seq=pl.col("seq"),
    ).cast(EVENT_SCHEMA)  # fmt: skip
    task = next_item_task(inter, n_negatives=10)
    cfg = PretrainConfig.from_dict(
        {"objective": "next-item", "max_events": 8,
         "encoder": {"dim": 16, "out_dim": 8, "heads": 2, "layers": 1},
         "train": {"epochs": 1, "batch_size": 4, "device": "cpu"}}
    )  # fmt: skip
    enc, _ = pretrain(serialize(events), tmp_path / "m", cfg, backbone=backbone, progress=False)
    texts, owner = item_event_texts(task, events)
    assert sorted(set(owner)) == list(range(task.items.height))
    assert not set(texts) & set(task.items["item_text"])  # only texts the model saw as events
    scores = model_scores(task, enc, events)
    u = task.test_users[0]
    hist = serialize(events_before_targets(events, task.test.filter(pl.col("user_id") == u)))
    _, own = enc.next_item_scores(hist, texts)
    item = int(owner[-1])
    expected = np.log(np.exp(own[0][owner == item].astype(np.float64)).sum())
    np.testing.assert_allclose(scores[0, item], expected, rtol=1e-5, atol=1e-5)
