"""``byod demo``: the main job on built-in data, end to end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from byod.cli._common import console, user_errors
from byod.cli.data import print_ingest_summary
from byod.data.builtin.export import export_logs
from byod.data.builtin.movielens import load_movielens
from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.data.serialize import SerializeConfig, serialize
from byod.data.splits import leave_one_out
from byod.io import write_parquet


@user_errors
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Directory for everything the demo writes.")
    ] = Path("runs/demo"),
    dataset: Annotated[str, typer.Option(help="Built-in dataset: ml-1m or ml-100k.")] = "ml-1m",
) -> None:
    """Export MovieLens as raw logs, ingest them, serialize per-user histories, split by time."""
    t0 = time.perf_counter()
    console.rule(f"byod demo on {dataset}")
    logs = export_logs(load_movielens(dataset), out / "raw")
    console.print(f"1. raw logs written: {logs[0]}")
    t1 = time.perf_counter()
    result = ingest(load_ingest_config(out / "raw" / "ingest.yaml"))
    print_ingest_summary(result.summary)
    histories = serialize(result.events, SerializeConfig(max_events=256))
    write_parquet(histories, out / "histories.parquet")
    t2 = time.perf_counter()
    per_user = histories.group_by("user_id").agg(pl.len().alias("services"))["services"]
    console.print(
        f"2. histories: {histories.height:,} (user, service) rows for {per_user.len():,} users; "
        f"{(per_user >= 2).mean():.1%} of users in 2+ services, mean {per_user.mean():.2f}"
    )
    console.print(
        f"   ingest + serialize: {(t2 - t1):.2f} s "
        f"({result.events.height / (t2 - t1):,.0f} events/s)"
    )
    example = histories.row(0, named=True)
    preview = "\n".join(f"     {t}" for t in example["event_texts"][-3:])
    console.print(
        f"   e.g. user {example['user_id']} / {example['service']}, "
        f"last 3 of {example['n_events']}:\n{preview}"
    )
    split = leave_one_out(result.events)
    write_parquet(split.history, out / "split" / "history.parquet")
    write_parquet(split.valid, out / "split" / "valid.parquet")
    write_parquet(split.test, out / "split" / "test.parquet")
    console.print(
        f"3. leave-one-out split: history {split.history.height:,} events, "
        f"validation {split.valid.height:,}, test {split.test.height:,} users"
    )
    console.print(f"done in {time.perf_counter() - t0:.1f} s; outputs under {out}")
