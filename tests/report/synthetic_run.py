"""A tiny synthetic run directory: 120 users in 3 taste groups, 16-d embeddings."""

import json
import math
from pathlib import Path

import numpy as np
import polars as pl

from byod.atomic import write_json, write_parquet, write_text
from byod.features.table import write_feature_table
from byod.layout import RunLayout

N_USERS, DIM = 120, 16
# Unequal groups, so k-means numbers them 1, 2, 3 by size: 60, 40, 20 users.
GROUP_SIZES = (60, 40, 20)
GROUP_EVENTS = {
    0: "Heat (1995) | Action|Crime|Thriller | rated 3/5",
    1: "Sense and Sensibility (1995) | Drama|Romance | rated 4/5",
    2: "Zorblax (1999) | Drama | rated 5/5",  # "zorblax" is planted in group 2 only
}
COMMON_EVENT = "Toy Story (1995) | Animation|Children's|Comedy | rated 4/5"
AGES = ["18-24", "25-34", "35-44", "56+"]

ALL_PARTS = ("classify", "recommend", "features", "labels", "histories", "models", "run")
# What the pipeline records in run.json: the report maps `primary`, colours by `colour_by`
# and strips `strip_pattern` from the event texts.
RATING_PATTERN = r"\s*\|\s*rated\s+[0-9.]+\s*/\s*[0-9]+"
RUN_INFO = {"primary": "clue", "tasks": ["gender", "age", "occupation"], "colour_by": "age",
            "strip_pattern": RATING_PATTERN}  # fmt: skip


def groups() -> np.ndarray:
    return np.repeat(np.arange(3), GROUP_SIZES)


def user_ids() -> list[str]:
    return [f"u{i:03d}" for i in range(N_USERS)]


def classify_frame() -> pl.DataFrame:
    rows = [
        ("majority", "gender", "auroc", 0.500, 0.000),
        ("majority", "gender", "accuracy", 0.710, 0.000),
        ("majority", "age", "accuracy", 0.350, 0.000),
        ("tfidf-items", "gender", "auroc", 0.701, 0.004),
        ("tfidf-items", "age", "accuracy", 0.380, 0.010),
        ("clue", "gender", "auroc", 0.812, 0.010),
        ("clue", "gender", "accuracy", 0.760, 0.012),
        ("clue", "age", "accuracy", 0.412, 0.020),
        ("clue", "age", "macro_f1", 0.301, 0.015),
    ]
    return pl.DataFrame(
        [dict(zip(("source", "task", "metric", "mean", "std"), r, strict=True)) for r in rows]
    ).with_columns(n_seeds=pl.lit(3, pl.Int64))


def recommend_frame() -> pl.DataFrame:
    rows = [
        ("popularity", "sampled-100", "all", "hr@10", 0.400, 100),
        ("popularity", "sampled-100", "all", "ndcg@10", 0.200, 100),
        ("clue-mlp", "sampled-100", "all", "hr@10", 0.492, 100),
        ("clue-mlp", "sampled-100", "all", "ndcg@10", 0.250, 100),
        ("clue-mlp", "sampled-100", "all", "mrr", 0.180, 100),
        ("popularity", "full", "all", "hr@10", 0.050, 100),
        ("popularity", "full", "all", "ndcg@10", 0.025, 100),
        ("clue-mlp", "full", "all", "hr@10", 0.040, 100),
        ("clue-mlp", "full", "all", "ndcg@10", 0.030, 100),
        ("popularity", "sampled-100", "cold", "hr@10", 0.300, 20),
        ("clue-mlp", "sampled-100", "cold", "hr@10", 0.350, 20),
    ]
    return pl.DataFrame(
        [
            dict(
                zip(("source", "protocol", "segment", "metric", "value", "n_users"), r, strict=True)
            )
            for r in rows
        ]
    )


def features_frame(seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    centres = np.zeros((3, DIM), dtype=np.float32)
    centres[np.arange(3), np.arange(3)] = 4.0
    v = centres[groups()] + rng.normal(scale=0.5, size=(N_USERS, DIM)).astype(np.float32)
    return pl.DataFrame(
        {"user_id": user_ids(), "vector": v.astype(np.float32)},
        schema={"user_id": pl.String, "vector": pl.Array(pl.Float32, DIM)},
    )


def labels_frame() -> pl.DataFrame:
    rows = []
    for i, (u, g) in enumerate(zip(user_ids(), groups(), strict=True)):
        # group 0: all women; groups 1 and 2: alternate (so 50% women)
        rows.append((u, "gender", "F" if g == 0 or i % 2 == 0 else "M"))
        rows.append((u, "age", AGES[i % 4]))
        rows.append((u, "occupation", "programmer" if g == 1 else "writer"))
    return pl.DataFrame(rows, schema=["user_id", "task", "label"], orient="row")


def histories_frame() -> pl.DataFrame:
    rows = []
    for u, g in zip(user_ids(), groups(), strict=True):
        rows.append(
            {
                "user_id": u,
                "service": "movies",
                "event_texts": [GROUP_EVENTS[g]] * 3 + [COMMON_EVENT],
            }
        )
        rows.append({"user_id": u, "service": "ratings", "event_texts": [COMMON_EVENT]})
    return pl.DataFrame(rows).with_columns(n_events=pl.col("event_texts").list.len())


def curve_lines(epochs: int, start: float, val: bool = True) -> str:
    out = []
    for e in range(1, epochs + 1):
        rec = {
            "epoch": e,
            "step": 10 * e,
            "train_loss": start / e,
            "seconds": 1.0,
            "temperature": 0.05,
        }
        rec["val_loss"] = start / e + 0.1 if val else math.nan
        out.append(json.dumps(rec))
    return "\n".join(out) + "\n"


def make_run(root: Path, parts: tuple[str, ...] = ALL_PARTS) -> Path:
    layout = RunLayout(root)
    root.mkdir(parents=True, exist_ok=True)
    if "classify" in parts:
        write_parquet(classify_frame(), layout.classify)
    if "recommend" in parts:
        write_parquet(recommend_frame(), layout.recommend)
    if "features" in parts:
        write_feature_table(features_frame(), layout.features("clue"), {"objective": "clue"})
        write_feature_table(features_frame(1)[:30], layout.features("a-other"), {})
    if "labels" in parts:
        write_parquet(labels_frame(), layout.labels)
    if "histories" in parts:
        write_parquet(histories_frame(), layout.histories)
    if "models" in parts:
        write_text(curve_lines(4, 3.0), layout.model("clue") / "metrics.jsonl")
        write_text(curve_lines(3, 2.5, val=False), layout.model("simclr") / "metrics.jsonl")
    if "run" in parts:
        write_json(RUN_INFO, layout.run_info)
    return root
