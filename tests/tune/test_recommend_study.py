from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from byod.data.schema import INTERACTION_SCHEMA
from byod.transfer.nextitem import next_item_task
from byod.transfer.run import table_source
from byod.tune.headstudy import HeadStudy
from byod.tune.recstudy import headline, tune_recommend
from byod.tune.space import default_space, parse_space

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _task(n_users: int = 60, n_items: int = 150, seed: int = 0):
    """Users walk item chains (item k is followed by k + 1): the previous item predicts the next."""
    rng = np.random.default_rng(seed)
    rows, seq = [], 0
    for u in range(n_users):
        start = int(rng.integers(0, n_items - 12))
        for k in range(10):
            seq += 1
            item = start + k
            rows.append({"user_id": f"u{u:03d}", "item_id": f"i{item:03d}", "item_text": f"movie {item}",
                         "timestamp": T0 + timedelta(minutes=k), "seq": seq})  # fmt: skip
    rows += [{"user_id": f"z{i}", "item_id": f"i{i:03d}", "item_text": f"movie {i}",
              "timestamp": T0, "seq": 100_000 + i} for i in range(n_items)]  # fmt: skip
    task = next_item_task(pl.DataFrame(rows, schema=INTERACTION_SCHEMA))
    users = sorted(task.ordered["user_id"].unique().to_list())
    feats = pl.DataFrame(
        {"user_id": users, "vector": rng.normal(size=(len(users), 8)).astype(np.float32)},
        schema={"user_id": pl.String, "vector": pl.Array(pl.Float32, 8)},
    )
    vectors = np.eye(n_items, dtype=np.float32)[: task.items.height]  # one-hot item "texts"
    return task, table_source(feats), vectors


def test_recommend_study_is_seeded_and_scores_tuned_and_default_heads(
    tmp_path, monkeypatch
) -> None:
    task, features, vectors = _task()
    space = parse_space({"head": "recommend", "params": {
        "kind": {"type": "categorical", "choices": ["dot", "mlp"]},
        "last_item": {"type": "categorical", "choices": [True, False]},
        "epochs": {"type": "int", "low": 2, "high": 4}}}, "recommend")  # fmt: skip
    cfg = HeadStudy(head="recommend", task="next-item", n_trials=3, seed=1)
    a = tune_recommend(task, features, vectors, space, tmp_path / "a", cfg)
    b = tune_recommend(task, features, vectors, space, tmp_path / "b", cfg)
    assert a.best["params"] == b.best["params"] and a.best["value"] == b.best["value"]
    assert 0.0 <= headline(a.test) <= 1.0 and 0.0 <= headline(a.default_test) <= 1.0
    assert pl.read_parquet(tmp_path / "a" / "trials.parquet").height == 3


def test_default_recommend_space_covers_the_config() -> None:
    names = {p.name for p in default_space("recommend").params}
    assert {"kind", "dim", "lr", "epochs", "last_item"} <= names
