"""The embedding map of a build: the report's t-SNE and k-means, as SVG points.

Each point says, on hover or keyboard focus, which user it is and the user's recent events.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from byod.atomic import write_json

__all__ = ["user_map", "MAX_POINTS", "RECENT"]

MAX_POINTS = 500  # t-SNE on more users takes longer than a page should wait
RECENT = 3
W, H, PAD = 640, 420, 14
PALETTE = ("#2b59c3", "#d9480f", "#2f9e44", "#9c36b5", "#e8590c", "#1098ad", "#c2255c", "#5c940d")


def user_map(features: Path, events: Path | None, cache: Path, seed: int = 0) -> dict[str, Any]:
    """Points ``{x, y, user, cluster, colour, events}`` in SVG units, computed once per build.

    Args:
        features: the build's feature-table folder.
        events: the events it was built from (None: no recent events on hover).
        cache: the JSON file the map is kept in (the map of a build never changes).
        seed: of the user sample, k-means and t-SNE.
    """
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    import polars as pl

    from byod.features.table import read_feature_table
    from byod.report.clusters import cluster_users
    from byod.report.figures import subsample, tsne_2d

    table = read_feature_table(features)
    vectors, ids = np.asarray(table.vectors), list(table.user_ids)
    idx = subsample(len(ids), MAX_POINTS, seed=seed)
    clusters = cluster_users(vectors, min(8, max(len(ids) // 5, 1)), seed=seed)[idx]
    xy = tsne_2d(vectors[idx], seed=seed)
    lo, span = xy.min(axis=0), np.maximum(np.ptp(xy, axis=0), 1e-9)
    xy = PAD + (xy - lo) / span * (np.array([W, H]) - 2 * PAD)
    recent: dict[str, list[str]] = {}
    if events is not None and Path(events).exists():
        chosen = [ids[i] for i in idx]
        last = (
            pl.read_parquet(events, columns=["user_id", "timestamp", "seq", "text"])
            .filter(pl.col("user_id").is_in(chosen))
            .sort("user_id", "timestamp", "seq")
            .group_by("user_id", maintain_order=True)
            .agg(pl.col("text").tail(RECENT).reverse())
        )
        recent = dict(zip(last["user_id"].to_list(), last["text"].to_list(), strict=True))
    points = [
        {
            "x": round(float(x), 1),
            "y": round(float(y), 1),
            "user": ids[i],
            "cluster": int(c) + 1,
            "colour": PALETTE[int(c) % len(PALETTE)],
            "events": recent.get(ids[i], []),
        }
        for (x, y), i, c in zip(xy, idx, clusters, strict=True)
    ]
    out = {"points": points, "n_users": len(ids), "width": W, "height": H}
    write_json(out, cache)
    return out
