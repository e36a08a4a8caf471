"""Map raw log files onto the event contract, keeping every row accounted for.

For each source: read the file (:mod:`byod.data.readers`), check the configured columns exist,
parse user, time, service, text and item per row, and send each unusable row to the rejects table
with the first problem found. Exactly: ``read = accepted + rejected + duplicates``.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Any

import numpy as np
import polars as pl

from byod.atomic import write_csv, write_json, write_parquet
from byod.data.config import IngestConfig, SourceConfig
from byod.data.readers import REJECT_SCHEMA, ROW, RawTable, read_source
from byod.data.schema import EVENT_SCHEMA, ORDINAL_COLUMN, is_ordinal, validate
from byod.data.template import all_fields_blank, normalize_whitespace, render
from byod.data.timeparse import MAX_STEP, VALID_YEARS, parse_step, parse_time, step_time
from byod.errors import ConfigError

__all__ = ["IngestResult", "ingest", "ingest_sources"]

_REASON = "__reason"
_COLUMN = "__column"
_SOURCE = "__source"
_STEP = "__step"


@dataclasses.dataclass
class IngestResult:
    """What :func:`ingest_sources` produced.

    Attributes:
        events: accepted events, contract columns first (``EVENT_SCHEMA``) then extras.
        rejects: rejected rows and dropped duplicates (``REJECT_SCHEMA``).
        summary: counts per source and overall (see :func:`_summary`).

    """

    events: pl.DataFrame
    rejects: pl.DataFrame
    summary: dict[str, Any]


def ingest(config: IngestConfig) -> IngestResult:
    """Ingest all sources of ``config`` and write events, rejects and summary atomically."""
    result = ingest_sources(config.sources, drop_duplicates=config.drop_duplicates)
    write_parquet(result.events, config.output)
    write_csv(result.rejects, config.rejects)
    result.summary["outputs"] = {
        "events": str(config.output),
        "rejects": str(config.rejects),
        "summary": str(config.summary_path),
    }
    write_json(result.summary, config.summary_path)
    return result


def ingest_sources(
    sources: tuple[SourceConfig, ...] | list[SourceConfig], *, drop_duplicates: bool = True
) -> IngestResult:
    """Ingest ``sources`` in memory (no files written)."""
    events, rejects, per_source = [], [], []
    seq_offset = 0
    for src in sources:
        raw = read_source(src)
        ev, rej = map_source(src, raw, seq_offset)
        # Row numbers start at 1 or 2 depending on the format; +1 keeps sources from overlapping.
        # Row numbers are file positions (JSONL skips blank lines), so advance past the largest.
        seq_offset += _max_row(raw) + 1
        events.append(ev.with_columns(pl.lit(str(src.path)).alias(_SOURCE)))
        rejects.append(rej)
        per_source.append({"source": str(src.path), "read": raw.n_read})
    all_events = pl.concat(events, how="diagonal_relaxed")
    all_rejects = pl.concat(rejects) if rejects else pl.DataFrame(schema=REJECT_SCHEMA)
    dupes = pl.DataFrame(schema=REJECT_SCHEMA)
    if drop_duplicates:
        all_events, dupes = dedupe_events(all_events)
    accepted = dict(all_events.group_by(_SOURCE).len().iter_rows())
    for s in per_source:
        s["accepted"] = accepted.get(s["source"], 0)
    all_events = validate(all_events.drop(_SOURCE, ROW), "events")
    summary = _summary(per_source, all_events, all_rejects, dupes)
    return IngestResult(all_events, pl.concat([all_rejects, dupes]), summary)


def _max_row(raw: RawTable) -> int:
    rows = [raw.frame[ROW].max() or 0, raw.rejects["row"].max() or 0]
    return int(max(rows))


def check_columns(src: SourceConfig, raw: RawTable) -> pl.DataFrame:
    """Fail on missing required columns; add absent optional template columns as nulls."""
    missing = [c for c in src.required_columns() if c not in raw.columns]
    if missing:
        raise ConfigError(
            f"{src.path}: column(s) {missing} not found; columns are {raw.columns}; "
            "fix the column names in the config (or list template columns that may be absent "
            "under `optional_columns`)"
        )
    absent = [c for c in src.optional_columns if c not in raw.columns]
    return raw.frame.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)


def map_source(
    src: SourceConfig, raw: RawTable, seq_offset: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = check_columns(src, raw)
    time_dtype = frame.schema[src.time_column]
    steps: list[pl.Expr] = []
    if src.ordinal:
        # A private name: the raw column (often called `step` too) stays as read, for the rejects.
        frame = frame.with_columns(
            parse_step(pl.col(src.time_column), time_dtype, name=src.time_column).alias(_STEP)
        )
        steps = [pl.col(_STEP).alias(ORDINAL_COLUMN)]
        ts = step_time(pl.col(_STEP))
    else:
        ts = parse_time(
            pl.col(src.time_column), time_dtype, src.time_format, src.timezone, name=src.time_column
        )
    service = (
        pl.lit(src.service, pl.String)
        if src.service
        else pl.col(src.service_column).cast(pl.String).str.strip_chars()
    )
    item = (
        pl.col(src.item_column).cast(pl.String).str.strip_chars()
        if src.item_column
        else pl.lit(None, pl.String)
    )
    mapped = frame.with_columns(
        user_id=pl.col(src.user_column).cast(pl.String).str.strip_chars(),
        timestamp=ts,
        service=service,
        text=render(src.text),
        item_id=item,
        seq=pl.col(ROW) + seq_offset,
        _blank=all_fields_blank(src.template_fields),
    )
    mapped = mapped.with_columns(normalize_whitespace(mapped["text"]))
    mapped = mapped.with_columns(*_reject_reason(src))
    good = mapped.filter(pl.col(_REASON).is_null())
    extras = [pl.col(c).cast(pl.String) for c in src.extra_columns if c not in EVENT_SCHEMA]
    events = good.select([pl.col(c) for c in EVENT_SCHEMA] + steps + extras + [pl.col(ROW)])
    bad = mapped.filter(pl.col(_REASON).is_not_null())
    return events, _value_rejects(src, raw, bad)


def _reject_reason(src: SourceConfig) -> tuple[pl.Expr, pl.Expr]:
    """Expressions naming each row's first problem (reason, column), null for usable rows.

    Checks run in contract order, so a row with several problems reports the first.
    """
    checks = [
        (
            pl.col("user_id").is_null() | (pl.col("user_id") == ""),
            "missing_user_id",
            src.user_column,
        ),
        (pl.col("timestamp").is_null(), "bad_timestamp", src.time_column),
        (
            pl.col("service").is_null() | (pl.col("service") == ""),
            "missing_service",
            src.service_column or "service",
        ),
        (pl.col("_blank"), "empty_text", ",".join(src.template_fields)),
    ]
    reason: Any = pl
    column: Any = pl
    for cond, name, col in checks:
        reason = reason.when(cond).then(pl.lit(name))
        column = column.when(cond).then(pl.lit(col))
    return reason.otherwise(None).alias(_REASON), column.otherwise(None).alias(_COLUMN)


def _value_rejects(src: SourceConfig, raw: RawTable, bad: pl.DataFrame) -> pl.DataFrame:
    """Rejects for rows whose values could not be mapped, plus the reader's rejects."""
    if bad.is_empty():
        return raw.rejects
    raw_json = _raw_values_json(bad, raw.columns)
    details = [
        _detail(reason, column, row, src)
        for reason, column, row in zip(
            bad[_REASON].to_list(),
            bad[_COLUMN].to_list(),
            bad.select(raw.columns).iter_rows(named=True),
            strict=True,
        )
    ]
    rejects = pl.DataFrame(
        {
            "source": str(src.path),
            "row": bad[ROW],
            "reason": bad[_REASON],
            "column": bad[_COLUMN],
            "detail": details,
            "raw": raw_json,
        },
        schema=REJECT_SCHEMA,
    )
    return pl.concat([raw.rejects, rejects]).sort("row")


# Types polars casts to String itself; anything else (lists, structs, binary, durations) is
# rendered in Python, the way the JSON Lines reader renders nested values.
_CASTABLE = (pl.String, pl.Boolean, pl.Date, pl.Datetime, pl.Time, pl.Categorical, pl.Null)


def _raw_values_json(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    """Each row's raw values as one compact JSON object of strings (the rejects' ``raw``).

    Args:
        frame: rows holding ``columns`` with the types they were read with (any, for Parquet).
        columns: the file's columns, in file order.

    Returns:
        ``(frame.height,)`` String series; nested values appear as compact JSON text.

    """
    as_text = [
        frame[c].cast(pl.String)
        if frame.schema[c].is_numeric() or isinstance(frame.schema[c], _CASTABLE)
        else pl.Series(c, [_value_text(v) for v in frame[c].to_list()], pl.String)
        for c in columns
    ]
    return pl.DataFrame(as_text).select(pl.struct(columns).struct.json_encode()).to_series()


def _value_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_value_text)
    return str(value)


def _detail(reason: str, column: str, row: dict, src: SourceConfig) -> str:
    if reason == "bad_timestamp" and src.ordinal:
        return (
            f"column {column!r}: {row.get(column)!r} is not an ordinal step "
            f"(a whole number from 0 to {MAX_STEP:,})"
        )
    if reason == "bad_timestamp":
        value = row.get(column)
        lo, hi = VALID_YEARS
        return (
            f"column {column!r}: {value!r} is not a valid {src.time_format} timestamp "
            f"(or falls outside {lo}-{hi - 1}, or does not exist in {src.timezone})"
        )
    if reason == "empty_text":
        return f"template {src.text!r} renders no content: column(s) {column} are empty"
    if reason == "missing_service":
        return f"column {column!r} is empty"
    return f"column {column!r} is empty"


def dedupe_events(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep the first of events identical in user, time, service, text and item."""
    cols = ["user_id", "timestamp", "service", "text", "item_id"]
    key = pl.struct(cols)
    # Hash first (fast); confirm candidates exactly, so a hash collision never drops an event.
    hashed = events.select(cols).hash_rows()
    candidates = hashed.is_in(hashed.filter(~hashed.is_first_distinct()).implode())
    if not candidates.any():
        return events, pl.DataFrame(schema=REJECT_SCHEMA)
    is_first = pl.Series(np.ones(events.height, dtype=bool))
    subset_idx = candidates.arg_true()
    exact_first = events[subset_idx].select(key.is_first_distinct()).to_series()
    is_first = is_first.scatter(subset_idx, exact_first)
    dup = events.filter(~is_first)
    dupes = pl.DataFrame(
        {
            "source": dup[_SOURCE],
            "row": dup[ROW],
            "reason": "duplicate",
            "column": None,
            "detail": "identical to an earlier event (user_id, timestamp, service, text, item_id)",
            "raw": dup.select(
                pl.struct(pl.exclude(_SOURCE, ROW).cast(pl.String)).struct.json_encode()
            ).to_series(),
        },
        schema=REJECT_SCHEMA,
    )
    return events.filter(is_first), dupes


def _summary(
    per_source: list[dict], events: pl.DataFrame, rejects: pl.DataFrame, dupes: pl.DataFrame
) -> dict[str, Any]:
    """Counts that add up: ``read == accepted + rejected + duplicates``, overall and per source."""
    rejected = Counter(rejects["source"].to_list())
    duplicates = Counter(dupes["source"].to_list())
    for s in per_source:
        s["rejected"] = rejected.get(s["source"], 0)
        s["duplicates"] = duplicates.get(s["source"], 0)
    read = sum(s["read"] for s in per_source)
    ordinal = is_ordinal(events)
    order = ORDINAL_COLUMN if ordinal else "timestamp"
    span = events.select(pl.col(order).min().alias("lo"), pl.col(order).max().alias("hi"))
    services = (
        events.group_by("service")
        .agg(pl.len().alias("events"), pl.col("user_id").n_unique().alias("users"))
        .sort("service")
    )
    summary = {
        "read": read,
        "accepted": events.height,
        "rejected": rejects.height,
        "duplicates": dupes.height,
        "rejected_by_reason": dict(sorted(Counter(rejects["reason"].to_list()).items())),
        "users": events["user_id"].n_unique(),
        "services": {
            r["service"]: {"events": r["events"], "users": r["users"]}
            for r in services.iter_rows(named=True)
        },
        # Ordinal logs have no clock: their span is in steps, and no made-up dates are shown.
        "order": "ordinal" if ordinal else "time",
        "first_timestamp": None if ordinal else span["lo"][0],
        "last_timestamp": None if ordinal else span["hi"][0],
        **({"first_step": span["lo"][0], "last_step": span["hi"][0]} if ordinal else {}),
        "sources": per_source,
    }
    if summary["read"] != summary["accepted"] + summary["rejected"] + summary["duplicates"]:
        raise AssertionError(f"ingest counts do not add up: {json.dumps(summary, default=str)}")
    return summary
