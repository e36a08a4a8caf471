"""byod.pipeline on tiny in-memory tables: every step's output lands where RunLayout says."""

from __future__ import annotations

import json

import polars as pl
import pytest

from byod.atomic import write_parquet
from byod.encoders.hashing import HashingBackbone
from byod.errors import ConfigError
from byod.pipeline import (
    EncoderSpec,
    PipelineCancelled,
    PipelineConfig,
    RunLayout,
    load_pipeline_config,
    run_pipeline,
)
from byod.pipeline.tables import interactions_from_events, long_labels


def _with_items(events: pl.DataFrame) -> pl.DataFrame:
    return events.with_columns(
        item_id=pl.col("text").str.extract(r"item (\d+)").str.replace(r"^", "i")
    )


def _labels(events: pl.DataFrame) -> pl.DataFrame:
    users = events["user_id"].unique().sort()
    return pl.DataFrame(
        {"user_id": users, "group": [f"g{i % 2}" for i in range(users.len())],
         "tier": ["a" if i % 3 else "b" for i in range(users.len())]}
    )  # fmt: skip


CONFIG = PipelineConfig(
    encoders=(
        EncoderSpec("clue", "clue", classify_heads=("logistic",)),
        EncoderSpec("zero-shot", "zero-shot"),
        EncoderSpec(
            "nx",
            "next-item",
            pretrain={
                "item_ids": "hashed",
                "encoder": {"dim": 16, "heads": 2, "layers": 1, "id_buckets": 256},
            },
        ),
    ),
    epochs=1,
    train={"batch_size": 16},
    max_events=32,
    blocks=("learned", "svd", "aggregates"),
    svd_dim=4,
    seeds=2,
    recommend_heads=("dot",),
    recommend={"epochs": 1},
    n_negatives=5,
    n_jobs=1,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory, events):
    layout = RunLayout(tmp_path_factory.mktemp("run"))
    events = _with_items(events)
    write_parquet(events, layout.events)
    write_parquet(_labels(events), layout.raw / "labels.parquet")  # wide, beside the logs
    config = PipelineConfig(**{**CONFIG.__dict__, "labels": layout.raw / "labels.parquet"})
    lines: list[str] = []
    result = run_pipeline(config, layout, say=lines.append, backbone=HashingBackbone(dim=16))
    return layout, result, lines


def test_every_step_writes_where_the_layout_says(run) -> None:
    layout, result, lines = run
    for path in (layout.histories, layout.split / "test.parquet", layout.classify,
                 layout.recommend, layout.run_info, layout.report / "index.html",
                 layout.model("clue") / "metrics.jsonl", layout.features("zero-shot") / "LATEST",
                 layout.labels):  # fmt: skip
        assert path.exists(), path
    assert result.report == layout.report / "index.html"
    assert set(result.timings) == {"tables", "pretrain", "embed", "classify", "recommend", "report"}
    assert lines[0].startswith("1. tables: ") and lines[-1].startswith("6. report")


def test_results_cover_every_encoder_task_and_baseline(run) -> None:
    _, result, _ = run
    assert set(result.classify["task"]) == {"group", "tier"}
    assert set(result.classify["source"]) == {
        "clue", "clue+svd+aggregates", "zero-shot", "zero-shot+svd+aggregates", "nx",
        "nx+svd+aggregates", "majority", "tfidf-items",
    }  # fmt: skip
    sources = set(result.recommend["source"])
    assert {"popularity", "item-knn", "cooccurrence", "clue-dot", "zero-shot-dot"} <= sources
    # the next-item model ranks items itself, beside its head; the others have no such row
    assert {"nx-dot", "nx-model"} <= sources and "clue-model" not in sources
    assert set(result.recommend["protocol"]) == {"sampled-5", "full"}  # named by the count


def test_run_info_tells_the_report_what_is_primary(run) -> None:
    layout, _, _ = run
    info = json.loads(layout.run_info.read_text())
    assert info["primary"] == "clue" and info["tasks"] == ["group", "tier"]
    assert info["colour_by"] == "group" and info["config"]["n_negatives"] == 5
    page = (layout.report / "index.html").read_text()
    assert "features/clue" in page and "colour = group" in page


def test_the_split_is_the_one_the_encoders_trained_before(run) -> None:
    layout, _, _ = run
    history = pl.read_parquet(layout.split / "history.parquet")
    valid = pl.read_parquet(layout.split / "valid.parquet")
    late = history.join(valid.select("user_id", vt="timestamp", vs="seq"), on="user_id")
    tied = (pl.col("timestamp") == pl.col("vt")) & (pl.col("seq") >= pl.col("vs"))
    assert late.filter((pl.col("timestamp") > pl.col("vt")) | tied).is_empty()


def test_a_stop_request_ends_the_run_between_steps(tmp_path, events) -> None:
    layout = RunLayout(tmp_path)
    write_parquet(_with_items(events), layout.events)
    calls = iter([False, True])
    with pytest.raises(PipelineCancelled, match="before step 'pretrain'"):
        run_pipeline(CONFIG, layout, say=lambda _: None, should_stop=lambda: next(calls),
                     backbone=HashingBackbone(dim=16))  # fmt: skip
    assert layout.histories.exists() and not layout.classify.exists()


def test_yaml_config_resolves_paths_and_names_unknown_keys(tmp_path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "events: out/events.parquet\nencoders:\n  - {name: zs, objective: zero-shot}\n"
        "blocks: learned,svd\nprimary: zs\n"
    )
    cfg = load_pipeline_config(path)
    assert cfg.events == tmp_path / "out" / "events.parquet"
    assert cfg.blocks == ("learned", "svd") and cfg.primary_source == "zs"
    path.write_text("epochz: 3\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['epochz'\]; valid keys are \["):
        load_pipeline_config(path)
    path.write_text("encoders:\n  - {name: a, objective: clue, head: mlp}\n")
    with pytest.raises(ConfigError, match=r"encoders\[0\]: unknown key\(s\) \['head'\]"):
        load_pipeline_config(path)
    with pytest.raises(ConfigError, match="primary: 'x' is not an encoder"):
        PipelineConfig(primary="x")
    path.write_text("encoders:\n  - {name: a, objective: next-item, pretrain: {item_id: on}}\n")
    with pytest.raises(ConfigError, match=r"pretrain: unknown key\(s\) \['item_id'\]"):
        load_pipeline_config(path)
    path.write_text(
        "encoders:\n  - {name: a, objective: next-item, pretrain: {item_ids: hashed}}\n"
    )
    assert load_pipeline_config(path).encoders[0].pretrain == {"item_ids": "hashed"}
    with pytest.raises(ConfigError, match="untrained baseline takes no `pretrain`"):
        EncoderSpec("zs", "zero-shot", pretrain={"item_ids": "hashed"})


def test_labels_long_or_wide_and_items_from_events(events) -> None:
    wide = pl.DataFrame({"user_id": ["u1", "u2"], "age": [30, None], "city": ["a", "b"]})
    long = long_labels(wide)
    assert long.sort("task", "user_id").rows() == [
        ("u1", "age", "30"), ("u1", "city", "a"), ("u2", "city", "b"),
    ]  # fmt: skip
    assert long_labels(long).equals(long)
    with pytest.raises(ConfigError, match="needs a user_id column"):
        long_labels(pl.DataFrame({"uid": ["u1"], "age": ["3"]}))
    events = _with_items(events)
    inter = interactions_from_events(events, None)
    assert inter.height == events.height and inter["item_text"].null_count() == 0
