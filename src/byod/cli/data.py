"""``byod data``: ingest logs, serialize histories, split, and export built-in datasets."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from byod.atomic import write_json, write_parquet
from byod.cli._common import console, user_errors
from byod.data.builtin.movielens import BUILTIN_DATASETS, load_movielens
from byod.data.config import load_ingest_config
from byod.data.ingest import ingest as run_ingest
from byod.data.schema import read_table
from byod.data.serialize import SerializeConfig, write_histories
from byod.data.serialize import serialize as run_serialize
from byod.data.splits import leave_one_out, time_cut
from byod.distributed import check_backend
from byod.errors import ByodError

app = typer.Typer(
    help="Ingest logs, serialize per-user histories, split, built-in data.", no_args_is_help=True
)


@app.command()
@user_errors
def ingest(
    config: Annotated[Path, typer.Argument(help="Ingestion YAML (sources, output, rejects).")],
    backend: Annotated[
        str, typer.Option(help="polars (one process) | ray (Ray Data; Parquet in and out).")
    ] = "polars",
    workers: Annotated[
        int | None, typer.Option(help="ray: CPUs of the local cluster started (default: all).")
    ] = None,
) -> None:
    """Map raw log files onto the event contract; bad rows go to the rejects file with a reason."""
    cfg = load_ingest_config(config)
    if check_backend(backend) == "ray":
        from byod.distributed.ray_data import ingest_ray

        print_ingest_summary(ingest_ray(cfg, workers=workers))
        return
    with console.status(f"ingesting {len(cfg.sources)} source(s)"):
        result = run_ingest(cfg)
    print_ingest_summary(result.summary)


def print_ingest_summary(summary: dict) -> None:
    """Print the ingestion counts (they add up: read = accepted + rejected + duplicates)."""
    table = Table(title="ingest", show_header=True)
    for col in ("source", "read", "accepted", "rejected", "duplicates"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for s in summary["sources"]:
        table.add_row(
            Path(s["source"]).name,
            *(f"{s[k]:,}" for k in ("read", "accepted", "rejected", "duplicates")),
        )
    table.add_row(
        "[bold]total",
        *(f"[bold]{summary[k]:,}" for k in ("read", "accepted", "rejected", "duplicates")),
    )
    console.print(table)
    if summary["rejected_by_reason"]:
        reasons = ", ".join(f"{k} {v:,}" for k, v in summary["rejected_by_reason"].items())
        console.print(f"rejected by reason: {reasons}")
    services = ", ".join(
        f"{k} ({v['events']:,} events, {v['users']:,} users)"
        for k, v in summary["services"].items()
    )
    console.print(f"users: {summary['users']:,}   services: {services}")
    console.print(f"time span: {summary['first_timestamp']} .. {summary['last_timestamp']}")
    if "outputs" in summary:
        for name, path in summary["outputs"].items():
            console.print(f"{name}: {path}")


@app.command()
@user_errors
def serialize(
    events: Annotated[Path, typer.Argument(help="Events Parquet (from `byod data ingest`).")],
    out: Annotated[Path, typer.Option("--out", help="Histories Parquet to write.")],
    max_events: Annotated[
        int, typer.Option(help="Keep the most recent N events per history (0: all).")
    ] = 256,
    max_chars: Annotated[
        int, typer.Option(help="Character budget per history text (0: none).")
    ] = 0,
    separator: Annotated[
        str, typer.Option(help="Between event texts; '\\n' for a newline.")
    ] = "\\n",
    time_prefix: Annotated[
        str, typer.Option(help="none | date | datetime: prefix events with their time.")
    ] = "none",
    start: Annotated[
        datetime | None, typer.Option(help="Drop events before this UTC time.")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option(help="Drop events at or after this UTC time.")
    ] = None,
    merge_services: Annotated[
        bool, typer.Option(help="One history per user over all services.")
    ] = False,
    backend: Annotated[
        str, typer.Option(help="polars (one process) | ray (Ray Data; Parquet in and out).")
    ] = "polars",
    workers: Annotated[
        int | None, typer.Option(help="ray: CPUs of the local cluster started (default: all).")
    ] = None,
) -> None:
    """Per user and service: events in time order, truncated to a budget, as text and as a list."""
    config = SerializeConfig(
        max_events=max_events or None,
        max_chars=max_chars or None,
        separator=separator.replace("\\n", "\n").replace("\\t", "\t"),
        time_prefix=time_prefix,
        start=start,
        end=end,
        by_service=not merge_services,
    )
    if check_backend(backend) == "ray":
        from byod.distributed.ray_data import serialize_ray

        n = serialize_ray(events, out, config, workers=workers)
        console.print(
            f"histories: {n['histories']:,} for {n['users']:,} users "
            f"({n['multi_service_users'] / max(n['users'], 1):.1%} in several services); events "
            f"kept {n['events']:,}, cut by the budget {n['truncated']:,} (ray, "
            f"{n['partitions']} partitions)\nwrote {out}"
        )
        return
    histories = run_serialize(read_table(events, "events"), config)
    write_histories(histories, out, config)
    stats = histories.select(
        pl.len().alias("histories"),
        pl.col("user_id").n_unique().alias("users"),
        pl.col("n_events").sum().alias("events"),
        (pl.col("n_events_total") - pl.col("n_events")).sum().alias("truncated"),
        pl.col("n_events").median().alias("median"),
    ).row(0, named=True)
    per_user = histories.group_by("user_id").agg(pl.len().alias("n"))["n"]
    console.print(
        f"histories: {stats['histories']:,} for {stats['users']:,} users "
        f"({(per_user > 1).mean():.1%} in several services); events kept {stats['events']:,}, "
        f"cut by the budget {stats['truncated']:,}; median events per history {stats['median']:.0f}"
    )
    console.print(f"wrote {out}")


@app.command()
@user_errors
def split(
    events: Annotated[Path, typer.Argument(help="Events Parquet.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the split tables.")],
    method: Annotated[
        str, typer.Option(help="loo (leave-one-out by time) | time (global cut).")
    ] = "loo",
    service: Annotated[
        str | None, typer.Option(help="loo: pick targets from this service only.")
    ] = None,
    cut: Annotated[datetime | None, typer.Option(help="time: the cut (UTC).")] = None,
    horizon_days: Annotated[
        float | None, typer.Option(help="time: future window length in days.")
    ] = None,
) -> None:
    """Split events by time; no history holds an event at or after its split point."""
    df = read_table(events, "events")
    if method == "loo":
        s = leave_one_out(df, service=service)
        tables = {"history": s.history, "valid": s.valid, "test": s.test}
    elif method == "time":
        if cut is None:
            raise ByodError("--method time needs --cut, e.g. --cut 2003-01-01")
        horizon = timedelta(days=horizon_days) if horizon_days else None
        t = time_cut(df, cut, horizon=horizon)
        tables = {"history": t.history, "future": t.future}
    else:
        raise ByodError(f"--method must be 'loo' or 'time', got {method!r}")
    for name, table in tables.items():
        write_parquet(table, out / f"{name}.parquet")
    write_json(
        {k: {"events": v.height, "users": v["user_id"].n_unique()} for k, v in tables.items()},
        out / "split.json",
    )
    console.print(", ".join(f"{k}: {v.height:,} events" for k, v in tables.items()) + f" -> {out}")


@app.command()
@user_errors
def builtin(
    name: Annotated[str, typer.Argument(help=f"One of {', '.join(BUILTIN_DATASETS)}.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write into.")],
    as_logs: Annotated[
        bool, typer.Option(help="Write raw log files + an ingest.yaml instead of events.")
    ] = False,
) -> None:
    """Write a packaged dataset: events, labels, interactions and items (or raw logs to ingest)."""
    from byod.data.builtin.export import export_logs, export_tables

    data = load_movielens(name)
    paths = export_logs(data, out) if as_logs else export_tables(data, out)
    console.print(
        f"{name}: {data.events.height:,} events, {data.labels['user_id'].n_unique():,} users"
    )
    for path in paths:
        console.print(f"wrote {path}")


@app.command()
@user_errors
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder for logs/*.parquet + ingest.yaml.")],
    users: Annotated[int, typer.Option(help="Number of users.")] = 1000,
    events_per_user: Annotated[int, typer.Option(help="Events per user (all services).")] = 50,
    services: Annotated[int, typer.Option(help="Number of services (1-6).")] = 3,
    items_per_service: Annotated[int, typer.Option(help="Catalogue size per service.")] = 2000,
    dirty: Annotated[float, typer.Option(help="Share of rows broken on purpose.")] = 0.001,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
) -> None:
    """Write a synthetic multi-service log (Parquet) and the ingest.yaml that reads it."""
    from byod.data.synth import SynthConfig, synth_logs

    cfg = SynthConfig(users, events_per_user, services, items_per_service, dirty, seed)
    with console.status(f"writing {users * events_per_user:,} synthetic events"):
        path = synth_logs(cfg, out)
    console.print(f"wrote {out / 'logs'} ({services} services) and {path}")
