"""Write a built-in dataset to disk: as byod tables, or as raw logs plus an ingestion config."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import yaml

from byod.atomic import atomic_path, write_parquet, write_text
from byod.data.builtin.movielens import MovieLens

__all__ = ["export_tables", "export_logs"]


def export_tables(data: MovieLens, out: Path) -> list[Path]:
    """Write ``events``, ``labels``, ``interactions`` and ``items`` Parquet files into ``out``."""
    return [
        write_parquet(data.events, out / "events.parquet"),
        write_parquet(data.labels, out / "labels.parquet"),
        write_parquet(data.interactions, out / "interactions.parquet"),
        write_parquet(data.items, out / "items.parquet"),
    ]


def export_logs(data: MovieLens, out: Path) -> list[Path]:
    """Write the ratings as a raw, denormalised TSV log plus ``ingest.yaml`` that maps it.

    This is what a business log usually looks like (ids, names, epoch seconds, one service column),
    so ``byod data ingest out/ingest.yaml`` exercises the full ingestion path on real data and gives
    the same events as :func:`export_tables`.
    """
    items = data.items.select("item_id", movie=pl.col("item_text").str.split(" | ").list.first())
    log = (
        data.events.sort("seq")
        .join(items, on="item_id", how="left", maintain_order="left")
        .select(
            uid=pl.col("user_id"),
            ts=pl.col("timestamp").dt.epoch("s"),
            genre_group=pl.col("service"),
            movie_id=pl.col("item_id"),
            movie=pl.col("movie"),
            genres=pl.col("genres"),
            rating=pl.col("rating"),
        )
    )
    log_path = out / "ratings.tsv"
    with atomic_path(log_path) as tmp:
        log.write_csv(tmp, separator="\t")
    config = {
        "sources": [
            {
                "path": "ratings.tsv",
                "service_column": "genre_group",
                "user_column": "uid",
                "time_column": "ts",
                "time_format": "epoch_s",
                "timezone": "UTC",
                "text": "{movie} | {genres} | rated {rating}/5",
                "item_column": "movie_id",
                "extra_columns": ["rating"],
            }
        ],
        "output": "events.parquet",
        "rejects": "rejects.csv",
    }
    cfg_path = write_text(
        yaml.safe_dump(config, sort_keys=False, allow_unicode=True), out / "ingest.yaml"
    )
    labels = write_parquet(data.labels, out / "labels.parquet")
    return [log_path, cfg_path, labels]
