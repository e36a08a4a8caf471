"""``--backend ray`` for ingest and serialize: byod's own row logic on Ray Data.

Both commands have the same shape: read the input Parquet row groups in parallel tasks, tag
each row with its user's hash partition, let Ray shuffle so that every partition arrives whole
(all of a user's rows together), and run byod's single-machine code on each partition:
ingestion's ``map_source`` per row group and ``dedupe_events`` per partition,
:func:`serialize` per partition (embedding works the same way: :mod:`byod.distributed.ray_embed`).
Partitions write their own part files with byod's atomic writers and return only counts, so no
events ever reach the driver; the parts are then streamed into the single Parquet file the other
commands read. Results equal the Polars backend's (same users, counts and histories), row order
aside.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from byod.atomic import atomic_path, write_json, write_parquet
from byod.data.config import IngestConfig, SourceConfig
from byod.data.ingest import _SOURCE, check_columns, dedupe_events, map_source
from byod.data.readers import REJECT_SCHEMA, ROW, RawTable, empty_rejects
from byod.data.schema import ORDINAL_COLUMN, validate
from byod.data.serialize import SerializeConfig, serialize, write_histories
from byod.distributed.parts import (
    PART,
    RowGroup,
    merge_parts,
    n_partitions,
    read_row_group,
    row_groups,
    with_partition,
)
from byod.distributed.runtime import ensure_cluster
from byod.errors import ConfigError

__all__ = ["ingest_ray", "serialize_ray"]

_COMPAT = pl.CompatLevel.oldest()  # plain Arrow strings: every Ray block concatenates them


def _to_arrow(frame: pl.DataFrame) -> pa.Table:
    return frame.to_arrow(compat_level=_COMPAT)


def _dataset(groups: list[RowGroup], workers: int | None):  # noqa: ANN202 (ray.data.Dataset)
    ensure_cluster(workers)
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    # Sort-based shuffle needs no aggregator actors: on a small cluster those would hold the
    # CPUs the encoder actors wait for.
    ctx.shuffle_strategy = ray.data.context.ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    items = [{**g.__dict__} for g in groups]
    return ray.data.from_items(items, override_num_blocks=max(1, len(items)))


def _map_row_groups(fn: Callable[[RowGroup], pl.DataFrame]) -> Callable[[pa.Table], pa.Table]:
    """A ``map_batches`` function: each input row names a row group, ``fn`` maps it."""

    def run(batch: pa.Table) -> pa.Table:
        frames = [fn(RowGroup(**row)) for row in batch.to_pylist()]
        return _to_arrow(pl.concat(frames, how="diagonal_relaxed"))

    return run


def _staging(out: Path) -> Path:
    return out.parent / f".{out.name}.ray-{uuid.uuid4().hex[:8]}"


def _run_groups(ds: Any, fn: Callable[..., pa.Table], **kwargs: Any) -> list[dict]:
    """Shuffle by partition, run ``fn`` on each whole partition; return its JSON stats rows."""
    out = ds.groupby(PART).map_groups(fn, batch_format="pyarrow", **kwargs)
    return [json.loads(r["stats"]) for r in out.take_all()]


def _stats_row(stats: dict[str, Any]) -> pa.Table:
    return pa.table({"stats": [json.dumps(stats)]})


# -- ingest -------------------------------------------------------------------------------------
def _check_sources(config: IngestConfig) -> list[Path]:
    paths = []
    for src in config.sources:
        if src.file_format != "parquet":
            raise ConfigError(
                f"{src.path}: --backend ray reads Parquet sources (row groups in parallel); this "
                f"one is {src.file_format}: convert it to Parquet or use --backend polars"
            )
        paths.append(src.path)
    return paths


def _map_group(
    group: RowGroup,
    sources: tuple[SourceConfig, ...],
    offsets: list[int],
    n: int,
    staging: Path,
) -> pl.DataFrame:
    """Ingest one row group with byod's row logic; rejects go to a part file of their own."""
    src = sources[group.source]
    frame = read_row_group(group)
    names = frame.columns
    first = group.first_row + 1  # Parquet rows are numbered from 1, as read_source numbers them
    frame = frame.with_columns(pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(ROW))
    events, rejects = map_source(
        src, RawTable(frame, empty_rejects(), names), offsets[group.source]
    )
    if rejects.height:
        write_parquet(rejects, staging / "rejects" / f"rej-{group.source:04d}-{group.index:06d}.pq")
    return with_partition(events.with_columns(pl.lit(str(src.path)).alias(_SOURCE)), n)


def _finish_partition(batch: pa.Table, drop_duplicates: bool, staging: Path) -> pa.Table:
    """Drop duplicates within a user partition (inputs order: seq) and write its events."""
    events = pl.from_arrow(batch)
    part = int(events[PART][0])
    events = events.drop(PART).sort("seq")
    if drop_duplicates:
        events, dupes = dedupe_events(events)
        if dupes.height:
            write_parquet(dupes, staging / "rejects" / f"dup-{part:05d}.pq")
    accepted = dict(events.group_by(_SOURCE).len().iter_rows())
    events = validate(events.drop(_SOURCE, ROW), "events")
    write_parquet(events, staging / "events" / f"part-{part:05d}.parquet")
    order = ORDINAL_COLUMN if ORDINAL_COLUMN in events.columns else "timestamp"
    span = events.select(pl.col(order).min().alias("lo"), pl.col(order).max().alias("hi"))
    if order == "timestamp":
        span = span.select(pl.all().dt.epoch("us"))
    services = events.group_by("service").agg(
        pl.len().alias("events"), pl.col("user_id").n_unique().alias("users")
    )
    return _stats_row(
        {
            "accepted": accepted,
            "users": events["user_id"].n_unique(),
            "services": {
                r["service"]: [r["events"], r["users"]] for r in services.iter_rows(named=True)
            },
            "order": "ordinal" if order == ORDINAL_COLUMN else "time",
            "lo": span["lo"][0],
            "hi": span["hi"][0],
        }
    )


def ingest_ray(config: IngestConfig, *, workers: int | None = None) -> dict[str, Any]:
    """:func:`byod.data.ingest.ingest` on Ray: same events, rejects and counts.

    Args:
        config: the ingestion config (Parquet sources only).
        workers: CPUs of a local cluster started here (an existing cluster is joined as it is).

    Returns:
        The summary (as :func:`~byod.data.ingest.ingest` writes it, plus ``backend``).
    """
    paths = _check_sources(config)
    groups = row_groups(paths)
    for src, path in zip(config.sources, paths, strict=True):
        schema = pl.read_parquet_schema(path)
        check_columns(src, RawTable(pl.DataFrame(schema=schema), empty_rejects(), list(schema)))
    reads = Counter()
    for g in groups:
        reads[g.source] += g.rows
    offsets, seq = [], 0
    for k in range(len(paths)):
        offsets.append(seq)
        seq += reads[k] + 1  # as ingest_sources: past the largest row number, plus one
    staging = _staging(config.output)
    try:
        ds = _dataset(groups, workers)
        n = n_partitions(sum(reads.values()), _cpus())
        mapped = ds.map_batches(
            _map_row_groups(
                lambda g: _map_group(g, config.sources, offsets, n, staging)  # noqa: B023
            ),
            batch_size=1,
            batch_format="pyarrow",
        )
        parts = _run_groups(mapped, _finish_partition, fn_args=(config.drop_duplicates, staging))
        summary = _ingest_summary(config, paths, reads, parts, staging)
        _write_ingest_outputs(config, paths, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_json(summary, config.summary_path)
    return summary


def _cpus() -> int:
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _rejects(staging: Path, prefix: str, paths: list[Path]) -> pl.LazyFrame:
    files = sorted((staging / "rejects").glob(f"{prefix}-*.pq"))
    if not files:
        return pl.LazyFrame(schema=REJECT_SCHEMA)
    index = {str(p): k for k, p in enumerate(paths)}
    lf = pl.scan_parquet(files)
    order = pl.col("source").replace_strict(index, return_dtype=pl.Int64)
    return lf.sort(order, pl.col("row"))


def _ingest_summary(
    config: IngestConfig, paths: list[Path], reads: Counter, parts: list[dict], staging: Path
) -> dict[str, Any]:
    rejected = _rejects(staging, "rej", paths).collect()
    dupes = _rejects(staging, "dup", paths).select("source").collect()
    accepted: Counter = Counter()
    services: dict[str, list[int]] = {}
    for p in parts:
        accepted.update(p["accepted"])
        for name, (ev, us) in p["services"].items():
            services[name] = [
                a + b for a, b in zip(services.get(name, [0, 0]), (ev, us), strict=True)
            ]
    rej_by_src = Counter(rejected["source"].to_list())
    dup_by_src = Counter(dupes["source"].to_list())
    per_source = [
        {
            "source": str(p),
            "read": reads[k],
            "accepted": accepted.get(str(p), 0),
            "rejected": rej_by_src.get(str(p), 0),
            "duplicates": dup_by_src.get(str(p), 0),
        }
        for k, p in enumerate(paths)
    ]
    ordinal = any(p["order"] == "ordinal" for p in parts)
    lo = min((p["lo"] for p in parts if p["lo"] is not None), default=None)
    hi = max((p["hi"] for p in parts if p["hi"] is not None), default=None)
    summary: dict[str, Any] = {
        "read": sum(reads.values()),
        "accepted": sum(accepted.values()),
        "rejected": rejected.height,
        "duplicates": dupes.height,
        "rejected_by_reason": dict(sorted(Counter(rejected["reason"].to_list()).items())),
        "users": sum(p["users"] for p in parts),  # partitions never share a user
        "services": {k: {"events": v[0], "users": v[1]} for k, v in sorted(services.items())},
        "order": "ordinal" if ordinal else "time",
        "first_timestamp": None if ordinal else _us_time(lo),
        "last_timestamp": None if ordinal else _us_time(hi),
        **({"first_step": lo, "last_step": hi} if ordinal else {}),
        "sources": per_source,
        "backend": "ray",
        "partitions": len(parts),
        "outputs": {
            "events": str(config.output),
            "rejects": str(config.rejects),
            "summary": str(config.summary_path),
        },
    }
    if summary["read"] != summary["accepted"] + summary["rejected"] + summary["duplicates"]:
        raise AssertionError(f"ingest counts do not add up: {json.dumps(summary, default=str)}")
    return summary


def _us_time(us: int | None) -> datetime | None:
    return None if us is None else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def _write_ingest_outputs(config: IngestConfig, paths: list[Path], staging: Path) -> None:
    parts = sorted((staging / "events").glob("part-*.parquet"))
    if parts:
        merge_parts(parts, config.output)
    else:  # nothing accepted: an empty table of the contract, as the Polars backend writes
        from byod.data.schema import EVENT_SCHEMA

        write_parquet(pl.DataFrame(schema=EVENT_SCHEMA), config.output)
    rejects = pl.concat([_rejects(staging, "rej", paths), _rejects(staging, "dup", paths)])
    with atomic_path(config.rejects) as tmp:
        rejects.sink_csv(tmp)


# -- serialize ----------------------------------------------------------------------------------
def _read_partitioned(group: RowGroup, n: int) -> pl.DataFrame:
    return with_partition(read_row_group(group), n)


def _serialize_partition(batch: pa.Table, config: SerializeConfig, staging: Path) -> pa.Table:
    events = pl.from_arrow(batch)
    part = int(events[PART][0])
    histories = serialize(events.drop(PART), config)
    write_histories(histories, staging / f"part-{part:05d}.parquet", config)
    per_user = histories.group_by("user_id").len()["len"]
    return _stats_row(
        {
            "histories": histories.height,
            "users": per_user.len(),
            "multi_service_users": int((per_user > 1).sum()),
            "events": int(histories["n_events"].sum()),
            "truncated": int((histories["n_events_total"] - histories["n_events"]).sum()),
        }
    )


def serialize_ray(
    events: Path, out: Path, config: SerializeConfig, *, workers: int | None = None
) -> dict[str, int]:
    """:func:`byod.data.serialize.serialize` on Ray, written as :func:`write_histories` does.

    Returns:
        Counts: ``histories``, ``users``, ``multi_service_users``, ``events`` kept,
        ``truncated`` (cut by the budget), ``partitions``.
    """
    groups = row_groups([events])
    staging = _staging(out)
    try:
        ds = _dataset(groups, workers)
        n = n_partitions(sum(g.rows for g in groups), _cpus())
        tagged = ds.map_batches(
            _map_row_groups(lambda g: _read_partitioned(g, n)),
            batch_size=1,
            batch_format="pyarrow",
        )
        parts = _run_groups(tagged, _serialize_partition, fn_args=(config, staging))
        files = sorted(staging.glob("part-*.parquet"))
        if files:
            merge_parts(files, out)
        else:
            from byod.data.schema import read_table

            write_histories(serialize(read_table(events, "events"), config), out, config)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    keys = ("histories", "users", "multi_service_users", "events", "truncated")
    totals = {k: sum(p[k] for p in parts) for k in keys}
    return {**totals, "partitions": len(parts)}
