"""Serialize events into per-user, per-service histories: the text a user encoder reads.

For each (user, service): the events in time order (ties broken by ``seq``, the input order),
truncated to the most recent ones within a budget of events and/or characters, kept both as the
list of event texts (hierarchical encoders) and as one joined text (flat encoders). Output schema:
``HISTORY_SCHEMA`` in :mod:`byod.data.schema`. Deterministic: same events, same bytes.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from byod.atomic import atomic_path
from byod.data.schema import HISTORY_SCHEMA, is_ordinal, validate
from byod.errors import ConfigError

__all__ = ["SerializeConfig", "serialize", "write_histories", "read_rendering", "ALL_SERVICES"]

ALL_SERVICES = "*"  # the service name of histories that merge every service
_TIME_PREFIX = {"none": None, "date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M"}
_META_KEY = b"byod.serialize"  # Parquet key-value metadata: the rendering of the event texts


@dataclasses.dataclass(frozen=True)
class SerializeConfig:
    """How histories are cut and rendered.

    Attributes:
        max_events: keep at most this many most recent events per history (None: all).
        max_chars: keep the most recent events whose joined text fits in this many characters
            (None: no limit). The most recent event is always kept, its text cut to the first
            ``max_chars`` characters.
        separator: placed between event texts in ``text``.
        time_prefix: ``none``, ``date`` or ``datetime``: prefix each event text with its UTC time,
            ``[2024-01-02] ...``. Ordinal events (order only) refuse anything but ``none``.
        start: drop events before this UTC time (inclusive bound).
        end: drop events at or after this UTC time (exclusive bound).
        by_service: one history per (user, service); False merges all services into one history
            per user with service ``"*"``.

    """

    max_events: int | None = 256
    max_chars: int | None = None
    separator: str = "\n"
    time_prefix: str = "none"
    start: datetime | None = None
    end: datetime | None = None
    by_service: bool = True

    def rendering(self) -> dict[str, Any]:
        """How each event's text is written (JSON-ready): what a model must reuse for new users.

        Budgets and windows are left out on purpose: they choose *which* events a history holds,
        and a model reads a new user's full history.
        """
        return {"separator": self.separator, "time_prefix": self.time_prefix,
                "by_service": self.by_service}  # fmt: skip

    def __post_init__(self) -> None:
        for name in ("max_events", "max_chars"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be a positive integer or None, got {value}")
        if self.time_prefix not in _TIME_PREFIX:
            raise ConfigError(
                f"time_prefix must be one of {list(_TIME_PREFIX)}, got {self.time_prefix!r}"
            )
        # Naive bounds mean UTC (as in the window filter), so compare both as aware times.
        if self.start and self.end and _as_utc(self.start) >= _as_utc(self.end):
            raise ConfigError(f"start ({self.start}) must be before end ({self.end})")


def serialize(events: pl.DataFrame, config: SerializeConfig | None = None) -> pl.DataFrame:
    """Build histories from an events table.

    Args:
        events: an events table (``EVENT_SCHEMA``), any order.
        config: budgets and rendering; defaults to :class:`SerializeConfig()`.

    Returns:
        One row per (user, service), sorted by user then service, ``HISTORY_SCHEMA`` columns.

    """
    config = config or SerializeConfig()
    events = validate(events, "events")
    if is_ordinal(events):
        _check_ordinal(config)
    keys = ["user_id", "service"]
    lf = events.lazy().select("user_id", "service", "timestamp", "seq", "text")
    if not config.by_service:
        lf = lf.with_columns(service=pl.lit(ALL_SERVICES))
    lf = _window(lf, config)
    lf = lf.sort([*keys, "timestamp", "seq"]).with_columns(text=_event_text(config))
    grouped = _truncated_lists(lf, keys, config)
    out = (
        grouped.with_columns(
            n_events=pl.col("event_texts").list.len().cast(pl.Int64),
            first_ts=pl.col("event_timestamps").list.first(),
            last_ts=pl.col("event_timestamps").list.last(),
            text=pl.col("event_texts").list.join(config.separator),
        )
        .select(list(HISTORY_SCHEMA))
        .collect()
    )
    return validate(out, "histories")


def _check_ordinal(config: SerializeConfig) -> None:
    """Ordinal events have steps, not times: nothing may print or filter by a clock time."""
    if config.time_prefix != "none":
        raise ConfigError(
            f"time_prefix {config.time_prefix!r} needs clock times, but these events are ordinal "
            "(a `step` column, order only); use time_prefix 'none'"
        )
    if config.start is not None or config.end is not None:
        raise ConfigError(
            "start / end are clock times, but these events are ordinal (a `step` column, order "
            "only); cut them by step first (byod.data.splits.time_cut(events, step))"
        )


def _window(lf: pl.LazyFrame, config: SerializeConfig) -> pl.LazyFrame:
    if config.start is not None:
        lf = lf.filter(pl.col("timestamp") >= _utc(config.start))
    if config.end is not None:
        lf = lf.filter(pl.col("timestamp") < _utc(config.end))
    return lf


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(value: datetime) -> pl.Expr:
    lit = pl.lit(value).cast(pl.Datetime("us", value.tzinfo and "UTC"))
    return lit if value.tzinfo else lit.dt.replace_time_zone("UTC")


def _event_text(config: SerializeConfig) -> pl.Expr:
    fmt = _TIME_PREFIX[config.time_prefix]
    if fmt is None:
        return pl.col("text")
    return pl.concat_str(
        [pl.lit("["), pl.col("timestamp").dt.strftime(fmt), pl.lit("] "), pl.col("text")]
    )


def _truncated_lists(lf: pl.LazyFrame, keys: list[str], config: SerializeConfig) -> pl.LazyFrame:
    """Group sorted events into lists holding the most recent events within the budgets.

    Columns: keys, ``n_events_total``, ``event_timestamps``, ``event_texts``.
    """
    if config.max_chars is None:
        # Count budget only: aggregate, then keep each list's tail (no window functions).
        lists = lf.group_by(keys, maintain_order=True).agg(
            event_timestamps=pl.col("timestamp"), event_texts=pl.col("text")
        )
        lists = lists.with_columns(n_events_total=pl.col("event_texts").list.len().cast(pl.Int64))
        if config.max_events is not None:
            lists = lists.with_columns(
                pl.col("event_timestamps", "event_texts").list.tail(config.max_events)
            )
        return lists
    lf = lf.with_columns(
        _n_total=pl.len().over(keys),
        _from_end=pl.int_range(pl.len(), 0, -1).over(keys) - 1,  # 0 = most recent
    )
    keep = pl.col("_from_end") < (config.max_events or 2**62)
    sep = len(config.separator)
    # Characters of this event and every later one, separators included.
    tail_chars = (pl.col("text").str.len_chars() + sep).cum_sum(reverse=True).over(keys) - sep
    keep = keep & ((tail_chars <= config.max_chars) | (pl.col("_from_end") == 0))
    lf = lf.with_columns(
        text=pl.when(pl.col("_from_end") == 0)
        .then(pl.col("text").str.slice(0, config.max_chars))
        .otherwise(pl.col("text"))
    ).filter(keep)
    return lf.group_by(keys, maintain_order=True).agg(
        n_events_total=pl.col("_n_total").first().cast(pl.Int64),
        event_timestamps=pl.col("timestamp"),
        event_texts=pl.col("text"),
    )


def write_histories(histories: pl.DataFrame, path: str | Path, config: SerializeConfig) -> Path:
    """Write a histories table with the rendering that made it in the Parquet metadata.

    ``byod pretrain`` reads it back (:func:`read_rendering`) into the model's config, so raw events
    of new users are later written the same way as the training histories.
    """
    table = histories.to_arrow()
    meta = {**(table.schema.metadata or {}), _META_KEY: json.dumps(config.rendering()).encode()}
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp, compression="zstd")
    return Path(path)


def read_rendering(path: str | Path) -> dict[str, Any] | None:
    """The rendering recorded by :func:`write_histories` (None for a file written otherwise)."""
    raw = (pq.read_schema(path).metadata or {}).get(_META_KEY)
    return json.loads(raw) if raw else None
