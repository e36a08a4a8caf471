"""Time-respecting splits of an events table.

Every split has a *split point* per user (a UTC time). The history it is split from holds only
events strictly before that time: an event at or after the split point never leaks into it, even
when it shares the timestamp of the target event (MovieLens ties often: for 42 % of ML-1M users the
last two ratings share a second).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import polars as pl

from byod.data.schema import validate
from byod.errors import ByodError

__all__ = ["LeaveOneOut", "TimeCut", "leave_one_out", "time_cut", "events_before"]

_ORDER = ["user_id", "timestamp", "seq"]


@dataclasses.dataclass
class LeaveOneOut:
    """Per user: the last event is the test target, the second last the validation target.

    Attributes:
        history: events strictly before each user's validation event (users with fewer than
            ``min_events`` events keep all their events here and get no targets).
        valid: one event per eligible user.
        test: one event per eligible user.

    """

    history: pl.DataFrame
    valid: pl.DataFrame
    test: pl.DataFrame

    def history_for(self, events: pl.DataFrame, target: str = "test") -> pl.DataFrame:
        """Events strictly before each user's ``target`` event (features for that target)."""
        frame = {"valid": self.valid, "test": self.test}[target]
        return events_before(events, frame.select("user_id", cutoff="timestamp"))


@dataclasses.dataclass
class TimeCut:
    """A global cut: history before ``cut``, future in ``[cut, cut + horizon)``."""

    history: pl.DataFrame
    future: pl.DataFrame
    cut: datetime


def leave_one_out(
    events: pl.DataFrame, *, service: str | None = None, min_events: int = 3
) -> LeaveOneOut:
    """Split off each user's last two events (by timestamp, then ``seq``) as test / validation.

    Args:
        events: an events table.
        service: choose the targets among this service's events only; the history still holds
            every service's earlier events (cross-service transfer).
        min_events: users need this many target-eligible events to get targets (>= 3: one
            history event, one validation, one test).

    """
    events = validate(events, "events")
    if min_events < 3:
        raise ByodError(
            f"min_events must be at least 3 (history, validation, test), got {min_events}"
        )
    pool = events if service is None else events.filter(pl.col("service") == service)
    if pool.is_empty():
        raise ByodError(f"no events to split{f' in service {service!r}' if service else ''}")
    ranked = pool.sort(_ORDER).with_columns(
        _rank=pl.int_range(pl.len(), 0, -1).over("user_id") - 1,  # 0 = last
        _n=pl.len().over("user_id"),
    )
    eligible = ranked.filter(pl.col("_n") >= min_events)
    test = eligible.filter(pl.col("_rank") == 0).drop("_rank", "_n")
    valid = eligible.filter(pl.col("_rank") == 1).drop("_rank", "_n")
    cut_users = valid.select("user_id", cutoff="timestamp")
    history = pl.concat(
        [
            events_before(events, cut_users),
            events.join(cut_users, on="user_id", how="anti"),
        ]
    ).sort(_ORDER)
    return LeaveOneOut(history=history, valid=valid, test=test)


def time_cut(events: pl.DataFrame, cut: datetime, *, horizon: timedelta | None = None) -> TimeCut:
    """History strictly before ``cut`` (UTC if naive); future in ``[cut, cut + horizon)``."""
    events = validate(events, "events")
    cut_lit = (
        pl.lit(cut).cast(pl.Datetime("us", "UTC"))
        if cut.tzinfo
        else pl.lit(cut).dt.replace_time_zone("UTC")
    )
    history = events.filter(pl.col("timestamp") < cut_lit).sort(_ORDER)
    future = events.filter(pl.col("timestamp") >= cut_lit)
    if horizon is not None:
        future = future.filter(pl.col("timestamp") < cut_lit + horizon)
    return TimeCut(history=history, future=future.sort(_ORDER), cut=cut)


def events_before(events: pl.DataFrame, cutoffs: pl.DataFrame) -> pl.DataFrame:
    """Events strictly before each user's cutoff.

    Args:
        events: an events table.
        cutoffs: columns ``user_id`` and ``cutoff`` (UTC datetime), one row per user; users
            without a cutoff are dropped.

    """
    if cutoffs["user_id"].is_duplicated().any():
        raise ByodError("cutoffs must have one row per user_id")
    return (
        events.join(cutoffs, on="user_id", how="inner")
        .filter(pl.col("timestamp") < pl.col("cutoff"))
        .drop("cutoff")
        .sort(_ORDER)
    )
