import json
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
from typer.testing import CliRunner

from byod.cli.main import app
from byod.data.schema import INTERACTION_SCHEMA
from byod.features.table import read_feature_table, write_feature_table

runner = CliRunner()
WORDS = ["action", "drama", "comedy", "horror", "space", "love", "war", "kids"]


def tiny_world(tmp_path, n_users=60, n_items=150):
    """Users of two tastes; features and labels carry the taste; items have word descriptions."""
    rng = np.random.default_rng(0)
    taste = np.arange(n_users) % 2
    vectors = rng.normal(size=(n_users, 8)).astype(np.float32)
    vectors[:, 0] += 3 * taste
    users = [f"u{i}" for i in range(n_users)]
    features = pl.DataFrame(
        {"user_id": users, "vector": vectors}, schema={"user_id": pl.String,
                                                       "vector": pl.Array(pl.Float32, 8)}
    )  # fmt: skip
    write_feature_table(features, tmp_path / "features", {"objective": "toy"})
    labels = pl.DataFrame(
        {"user_id": users, "task": ["taste"] * n_users, "label": [f"t{t}" for t in taste]}
    )
    labels.write_parquet(tmp_path / "labels.parquet")
    rows, seq, t0 = [], 0, datetime(2024, 1, 1, tzinfo=UTC)
    for u, t in zip(users, taste, strict=True):
        for k, item in enumerate(rng.choice(np.arange(t, n_items, 2), 6, replace=False)):
            seq += 1
            rows.append({"user_id": u, "item_id": f"i{item}", "timestamp": t0 + timedelta(k),
                         "item_text": f"{WORDS[item % 8]} item {item % 30}", "seq": seq})  # fmt: skip
    for item in range(n_items):  # every item appears once for a background user
        seq += 1
        rows.append({"user_id": f"bg{item}", "item_id": f"i{item}", "timestamp": t0,
                     "item_text": f"{WORDS[item % 8]} item {item % 30}", "seq": seq})  # fmt: skip
    pl.DataFrame(rows, schema=INTERACTION_SCHEMA).write_parquet(tmp_path / "inter.parquet")
    return tmp_path


def test_classify_writes_results_with_the_majority_floor(tmp_path):
    world = tiny_world(tmp_path)
    out = runner.invoke(app, ["transfer", "classify", "--features", str(world / "features"),
                              "--labels", str(world / "labels.parquet"), "--task", "taste",
                              "--seeds", "2", "--out", str(world / "res")])  # fmt: skip
    assert out.exit_code == 0, out.output
    res = pl.read_parquet(world / "res" / "classify.parquet")
    auroc = res.filter(pl.col("metric") == "auroc").select("source", "mean")
    scores = dict(zip(auroc["source"], auroc["mean"], strict=True))
    assert scores["toy"] > 0.95 and scores["majority"] == 0.5
    again = runner.invoke(app, ["transfer", "classify", "--features", str(world / "features"),
                                "--labels", str(world / "labels.parquet"), "--task", "taste",
                                "--seeds", "2", "--out", str(world / "res")])  # fmt: skip
    assert again.exit_code == 0
    assert pl.read_parquet(world / "res" / "classify.parquet").height == res.height  # merged


def test_recommend_with_static_features_beats_nothing_and_reports_both_protocols(
    tmp_path, tiny_st_folder, monkeypatch
):
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    world = tiny_world(tmp_path)
    out = runner.invoke(app, ["transfer", "recommend", "--features", str(world / "features"),
                              "--interactions", str(world / "inter.parquet"),
                              "--backbone", str(tiny_st_folder), "--head", "dot", "--epochs", "3",
                              "--out", str(world / "res")])  # fmt: skip
    assert out.exit_code == 0, out.output
    res = pl.read_parquet(world / "res" / "recommend.parquet")
    assert set(res["source"]) == {"popularity", "item-knn", "cooccurrence", "toy-dot"}
    assert set(res["protocol"]) == {"sampled-100", "full"}
    assert res["value"].is_between(0, 1).all()


def test_recommend_names_missing_pieces(tmp_path):
    world = tiny_world(tmp_path)
    out = runner.invoke(app, ["transfer", "recommend", "--interactions",
                              str(world / "inter.parquet"), "--out", str(tmp_path / "r")])  # fmt: skip
    assert out.exit_code == 2
    assert "exactly one of --model" in out.output


def _events_of(world):
    inter = pl.read_parquet(world / "inter.parquet")
    return inter.select(
        "user_id", "timestamp", service=pl.lit("shop"), text="item_text", item_id="item_id",
        seq="seq",
    )  # fmt: skip


def test_embed_writes_blocks_and_classify_picks_them(tmp_path, tiny_st_folder, monkeypatch):
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    world = tiny_world(tmp_path)
    _events_of(world).write_parquet(world / "events.parquet")
    runner.invoke(app, ["data", "serialize", str(world / "events.parquet"),
                        "--out", str(world / "hist.parquet")], catch_exceptions=False)  # fmt: skip
    made = runner.invoke(app, ["pretrain", "--histories", str(world / "hist.parquet"),
                               "--out", str(world / "model"), "--baseline", "zero-shot",
                               "--backbone", str(tiny_st_folder)])  # fmt: skip
    assert made.exit_code == 0, made.output
    out = runner.invoke(app, ["embed", "--model", str(world / "model"), "--histories",
                              str(world / "hist.parquet"), "--events", str(world / "events.parquet"),
                              "--blocks", "learned,svd,aggregates", "--svd-dim", "4",
                              "--out", str(world / "bfeat")])  # fmt: skip
    assert out.exit_code == 0, out.output
    meta = json.loads((world / "bfeat" / "v0001" / "metadata.json").read_text())
    assert [(b["name"], b["offset"]) for b in meta["blocks"]] == [
        ("learned", 0), ("svd", 16), ("aggregates", 20)]  # fmt: skip
    res = runner.invoke(app, ["transfer", "classify", "--features", str(world / "bfeat"),
                              "--labels", str(world / "labels.parquet"), "--task", "taste",
                              "--blocks", "svd", "--seeds", "2", "--out", str(world / "res")])  # fmt: skip
    assert res.exit_code == 0, res.output
    sources = set(pl.read_parquet(world / "res" / "classify.parquet")["source"])
    assert "zero-shot" in sources  # one block keeps the plain name
    bad = runner.invoke(app, ["transfer", "classify", "--features", str(world / "bfeat"),
                              "--labels", str(world / "labels.parquet"), "--task", "taste",
                              "--blocks", "zero-shot", "--out", str(world / "res")])  # fmt: skip
    assert bad.exit_code == 2 and "unknown block" in bad.output
    again = runner.invoke(app, ["embed", "--model", str(world / "model"), "--events",
                                str(world / "events.parquet"), "--blocks-from",
                                str(world / "bfeat"), "--out", str(world / "again")])  # fmt: skip
    assert again.exit_code == 0, again.output
    first, second = read_feature_table(world / "bfeat"), read_feature_table(world / "again")
    assert second.layout == first.layout
    np.testing.assert_allclose(second.matrix(["svd"])[0], first.matrix(["svd"])[0], atol=1e-5)
    nohist = runner.invoke(app, ["embed", "--model", str(world / "model"), "--histories",
                                 str(world / "hist.parquet"), "--blocks", "learned,svd",
                                 "--out", str(world / "x")])  # fmt: skip
    assert nohist.exit_code == 2 and "need --events" in nohist.output
