"""Tiny synthetic feature tables and labels for the tuning tests (built in memory, seconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from byod.atomic import write_parquet
from byod.features.table import write_feature_table


def make_table(root: Path, n: int = 160, seed: int = 0) -> tuple[Path, Path]:
    """A feature table (``learned`` 6-d + ``svd`` 4-d + ``aggregates`` 3-d) and labels.

    ``gender`` depends on the svd block only (the learned block is noise), ``age`` (3 classes) on
    both; the labels file has ``user_id, task, label``.
    """
    rng = np.random.default_rng(seed)
    ids = [f"u{i:04d}" for i in range(n)]
    learned = rng.normal(size=(n, 6)).astype(np.float32)
    svd = rng.normal(size=(n, 4)).astype(np.float32)
    agg = rng.normal(size=(n, 3)).astype(np.float32) * 10
    gender = np.where(svd[:, 0] + 0.5 * rng.normal(size=n) > 0, "F", "M")
    age = np.digitize(svd[:, 1] + learned[:, 0] + 0.3 * rng.normal(size=n), [-0.6, 0.6]).astype(str)
    features = pl.DataFrame(
        {"user_id": ids, "vector": learned},
        schema={"user_id": pl.String, "vector": pl.Array(pl.Float32, 6)},
    )
    write_feature_table(
        features,
        root / "features",
        {"objective": "synthetic"},
        blocks={"svd": (svd, ()), "aggregates": (agg, ("a", "b", "c"))},
    )
    labels = pl.DataFrame(
        {"user_id": ids * 2, "task": ["gender"] * n + ["age"] * n, "label": [*gender, *age]}
    )
    write_parquet(labels, root / "labels.parquet")
    return root / "features", root / "labels.parquet"
