"""``byod demo``: the main job on built-in data, end to end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import polars as pl
import typer

from byod.atomic import write_parquet
from byod.cli._common import byod_home, console, user_errors
from byod.cli.data import print_ingest_summary
from byod.data.builtin.export import export_logs
from byod.data.builtin.movielens import load_movielens
from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.data.serialize import SerializeConfig, serialize
from byod.data.splits import leave_one_out
from byod.errors import ByodError

if TYPE_CHECKING:
    from byod.demo import DemoConfig


@user_errors
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Directory for everything the demo writes.")
    ] = Path("runs/demo"),
    profile: Annotated[
        str, typer.Option(help="full (ML-1M, the real thing) or quick (ML-100K, a smoke run).")
    ] = "full",
    epochs: Annotated[int | None, typer.Option(min=1, help="Pretraining epochs.")] = None,
    data_only: Annotated[
        bool, typer.Option("--data-only", help="Stop after the data steps (no models).")
    ] = False,
) -> None:
    """The whole chain on MovieLens: logs → histories → clue → features → heads → report."""
    import dataclasses

    from byod.demo import PROFILES

    if profile not in PROFILES:
        raise ByodError(f"--profile must be one of {list(PROFILES)}, got {profile!r}")
    config = PROFILES[profile]
    if epochs is not None:
        config = dataclasses.replace(config, epochs=epochs)
    dataset = config.dataset
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
    if data_only:
        console.print(f"done in {time.perf_counter() - t0:.1f} s; outputs under {out}")
        return
    _models_and_report(out, config)
    console.print(f"done in {time.perf_counter() - t0:.0f} s; outputs under {out}")


def _models_and_report(out: Path, config: DemoConfig) -> None:
    from byod.demo import run_transfer_chain
    from byod.report import build_report, summary_markdown

    home = byod_home()
    run_transfer_chain(
        out,
        config,
        say=console.print,
        vector_cache_dir=home / "text-vectors",
        models_dir=home / "models",
    )
    paths = build_report(out)
    console.print(f"8. report: {paths.html}\n   (Markdown twin: {paths.markdown})")
    console.rule("summary")
    console.print(summary_markdown(out), markup=False, highlight=False, soft_wrap=True)
    console.print(f"report: {paths.html}")
