"""``byod transfer``: heads on frozen user features, with baselines in the same run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from byod.atomic import write_parquet
from byod.cli._common import byod_home, console, user_errors
from byod.data.schema import read_table
from byod.errors import ByodError

app = typer.Typer(help="Train small heads on frozen user features.", no_args_is_help=True)

Out = Annotated[Path, typer.Option("--out", help="Result folder (rows merge by source).")]


def merge_results(new: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Replace ``new``'s sources in the result file at ``path`` (atomic write); return all rows."""
    if path.exists():
        old = pl.read_parquet(path, glob=False)
        new = pl.concat([old.filter(~pl.col("source").is_in(new["source"].unique())), new])
    write_parquet(new, path)
    return new


def _show(frame: pl.DataFrame, index: list[str]) -> None:
    with pl.Config(tbl_rows=200, tbl_cols=20, float_precision=3, tbl_hide_dataframe_shape=True):
        console.print(str(frame.pivot(on="metric", index=index, values=frame.columns[-1])))


@app.command()
@user_errors
def classify(
    features: Annotated[Path, typer.Option(help="Feature-table folder (byod embed).")],
    labels: Annotated[Path, typer.Option(help="Labels Parquet: user_id, task, label.")],
    out: Out,
    task: Annotated[list[str], typer.Option(help="Task(s) to predict.")],
    head: Annotated[list[str], typer.Option(help="logistic | mlp (repeatable).")] = ["logistic"],  # noqa: B006
    source: Annotated[str | None, typer.Option(help="Name in the results.")] = None,
    events: Annotated[
        Path | None, typer.Option(help="Events Parquet: adds the TF-IDF bag-of-items baseline.")
    ] = None,
    seeds: Annotated[int, typer.Option(min=1, help="Number of random user splits.")] = 5,
    version: Annotated[
        str | None, typer.Option(help="Feature-table version (default: the latest).")
    ] = None,
    blocks: Annotated[
        str | None,
        typer.Option(help="Comma-separated feature blocks to use (default: all in the table)."),
    ] = None,
) -> None:
    """Predict user attributes from frozen features; majority (and bag-of-items) baselines.

    Each head scales every block of the table in its own way and tunes itself (logistic:
    ``C`` by stratified 5-fold CV over 1e-3 .. 1e2) on each split's training users only.
    """
    from byod.features.blocks import parse_blocks
    from byod.features.table import read_feature_table
    from byod.transfer.baselines import bag_of_items
    from byod.transfer.run import classify_source

    table = read_feature_table(features, version)
    label_df = read_table(labels, "labels")
    name = source or str(table.metadata.get("objective", features.name))
    ids = table.user_ids
    X, layout = table.matrix(parse_blocks(blocks))  # noqa: N806
    if len(layout.blocks) > 1 and source is None:
        name = f"{name}[{'+'.join(layout.names)}]"
    results = [
        classify_source(
            name, ids, X, label_df, task, head, n_seeds=seeds, console=console, blocks=layout.spec()
        ),  # fmt: skip
        classify_source("majority", ids, X, label_df, task, ["majority"], n_seeds=seeds),
    ]
    if events is not None:
        bag = bag_of_items(read_table(events, "events"), ids)
        results.append(
            classify_source("tfidf-items", ids, bag, label_df, task, ["logistic"], n_seeds=seeds)
        )
    merged = merge_results(pl.concat(results), out / "classify.parquet")
    _show(merged.drop("std", "n_seeds", "n_users"), ["source", "task", "head"])
    console.print(f"results: {out / 'classify.parquet'}")


@app.command()
@user_errors
def recommend(
    interactions: Annotated[
        Path,
        typer.Option(help="Interactions Parquet (user_id, item_id, item_text, timestamp, seq)."),
    ],
    out: Out,
    model: Annotated[
        Path | None, typer.Option(help="Model folder: point-in-time features (needs --events).")
    ] = None,
    events: Annotated[Path | None, typer.Option(help="Events Parquet the model embeds.")] = None,
    features: Annotated[
        Path | None,
        typer.Option(help="Static feature table, built only from events before every target."),
    ] = None,
    backbone: Annotated[
        str | None, typer.Option(help="Item-text backbone with --features (default: the table's).")
    ] = None,
    head: Annotated[list[str], typer.Option(help="mlp | dot (repeatable).")] = ["mlp"],  # noqa: B006
    source: Annotated[str | None, typer.Option(help="Name in the results.")] = None,
    baselines: Annotated[bool, typer.Option(help="Popularity, item-kNN, co-occurrence.")] = True,
    epochs: Annotated[int, typer.Option(min=1, help="Head training epochs (early stopping).")] = 15,
    last_item: Annotated[
        bool, typer.Option(help="Also feed the head the user's previous item's text vector.")
    ] = True,
) -> None:
    """Next-item recommendation on frozen features: sampled-100 and full ranking, by segment."""
    from byod.encoders.backbone import open_backbone
    from byod.encoders.cache import EmbeddingCache
    from byod.encoders.user import UserEncoder
    from byod.features.table import read_feature_table
    from byod.transfer.nextitem import next_item_task
    from byod.transfer.recommend import RecommendConfig
    from byod.transfer.run import (
        encoder_source,
        item_vectors,
        recommend_baselines,
        recommend_source,
        table_source,
    )

    if (model is None) == (features is None):
        raise ByodError("give exactly one of --model (with --events) or --features")
    if model is not None and events is None:
        raise ByodError("--model needs --events: the events it embeds before each target")
    task = next_item_task(read_table(interactions, "interactions"))
    home = byod_home()
    if model is not None:
        encoder = UserEncoder.load(
            model, vector_cache_dir=home / "text-vectors", models_dir=home / "models"
        )
        feature_source = encoder_source(encoder, read_table(events, "events"))
        name = source or encoder.config.objective
        text_model, cache = encoder.backbone, encoder.cache
    else:
        table = read_feature_table(features)
        feature_source = table_source(table.features)
        name = source or str(table.metadata.get("objective", features.name))
        backbone = backbone or table.metadata.get("backbone")
        if not backbone:
            raise ByodError("the feature table names no backbone; pass --backbone")
        text_model = open_backbone(backbone, models_dir=home / "models")
        cache = EmbeddingCache(home / "text-vectors", text_model.fingerprint, text_model.dim)
    vectors = item_vectors(task, text_model, cache, progress=True)
    results = [recommend_baselines(task)] if baselines else []
    for kind in head:
        cfg = RecommendConfig(kind=kind, epochs=epochs, last_item=last_item)
        res, _ = recommend_source(
            task,
            f"{name}-{kind}",
            feature_source,
            vectors,
            cfg,
            static=features is not None,
            progress=True,
        )
        results.append(res)
    merged = merge_results(pl.concat(results), out / "recommend.parquet")
    _show(
        merged.filter(pl.col("segment") == "all").drop("segment", "n_users"), ["source", "protocol"]
    )
    console.print(f"results: {out / 'recommend.parquet'}")
