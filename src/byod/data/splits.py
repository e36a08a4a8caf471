"""Splits of an events table that respect event order: the one cutoff rule and leave-one-out.

Events are ordered per user by ``(timestamp, seq)`` everywhere (``seq`` is the input position, so
same-second events keep the order they were logged in: MovieLens ties often, for 42 % of ML-1M
users the last two ratings share a second). A *split point* is one event's ``(timestamp, seq)``;
the history for it holds exactly the events ordered strictly before it (:func:`events_before`).
A split point without ``seq`` (a bare time) keeps the events strictly before that time.

Ordinal logs (``time_format: ordinal``) carry their step as the timestamp (see
:mod:`byod.data.timeparse`), so every rule here applies to them unchanged.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import polars as pl

from byod.data.schema import is_ordinal, validate
from byod.data.timeparse import step_time
from byod.errors import ByodError

__all__ = [
    "EVENT_ORDER",
    "LeaveOneOut",
    "TimeCut",
    "events_before",
    "leave_one_out",
    "leave_one_out_roles",
    "time_cut",
]

EVENT_ORDER = ["user_id", "timestamp", "seq"]  # the one order of events, everywhere


@dataclasses.dataclass
class LeaveOneOut:
    """Per user: the last event is the test target, the second last the validation target.

    Attributes:
        history: events ordered before each user's validation event (users with fewer than
            ``min_events`` events keep all their events here and get no targets).
        valid: one event per eligible user.
        test: one event per eligible user.

    """

    history: pl.DataFrame
    valid: pl.DataFrame
    test: pl.DataFrame

    def history_for(self, events: pl.DataFrame, target: str = "test") -> pl.DataFrame:
        """Events ordered strictly before each user's ``target`` event (features for it)."""
        frame = {"valid": self.valid, "test": self.test}[target]
        return events_before(events, frame.select("user_id", "timestamp", "seq"))


@dataclasses.dataclass
class TimeCut:
    """A global cut: history before ``cut``, future in ``[cut, cut + horizon)``."""

    history: pl.DataFrame
    future: pl.DataFrame
    cut: datetime | int


def events_before(events: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """Events ordered strictly before each user's split point by ``(timestamp, seq)``.

    Args:
        events: an events table (or any table with ``user_id``, ``timestamp``, ``seq``).
        targets: ``user_id``, ``timestamp`` and optionally ``seq``, one row per user; without
            ``seq`` (or where it is null) the cut is before every event of that timestamp. Users
            without a row are dropped.

    Returns:
        The kept events in ``(user_id, timestamp, seq)`` order, ``events``' columns.

    """
    if targets["user_id"].is_duplicated().any():
        raise ByodError("split points must have one row per user_id")
    seq = pl.col("seq") if "seq" in targets.columns else pl.lit(None, pl.Int64)
    cut = targets.select("user_id", _ts=pl.col("timestamp"), _seq=seq)
    tied_before = (pl.col("timestamp") == pl.col("_ts")) & (pl.col("seq") < pl.col("_seq"))
    return (
        events.join(cut, on="user_id", how="inner")
        .filter((pl.col("timestamp") < pl.col("_ts")) | tied_before.fill_null(False))
        .drop("_ts", "_seq")
        .sort(EVENT_ORDER)
    )


def leave_one_out_roles(
    frame: pl.DataFrame, *, n_train: int = 0, min_events: int = 3
) -> pl.DataFrame:
    """Order each user's rows and name their role in a leave-one-out split.

    Args:
        frame: rows with ``user_id``, ``timestamp``, ``seq`` (events or interactions).
        n_train: extra training targets per user before the validation target (``train-1`` is
            the one right before it); at least one row per user always stays ``history``.
        min_events: users with fewer rows get no targets (all ``history``); at least 3.

    Returns:
        ``frame`` in ``(user_id, timestamp, seq)`` order plus ``position`` (Int64, 0-based per
        user) and ``role`` (``test``, ``valid``, ``train-k`` or ``history``).

    """
    if min_events < 3:
        raise ByodError(
            f"min_events must be at least 3 (history, validation, test), got {min_events}"
        )
    from_end = pl.int_range(pl.len(), 0, -1).over("user_id") - 1  # 0 = last
    n = pl.len().over("user_id")
    eligible = n >= min_events
    role = (
        pl.when(eligible & (from_end == 0))
        .then(pl.lit("test"))
        .when(eligible & (from_end == 1))
        .then(pl.lit("valid"))
        .when(eligible & (from_end >= 2) & (from_end < 2 + n_train) & (from_end < n - 1))
        .then(pl.format("train-{}", from_end - 1))
        .otherwise(pl.lit("history"))
    )
    return frame.sort(EVENT_ORDER).with_columns(
        position=pl.int_range(pl.len(), dtype=pl.Int64).over("user_id"), role=role
    )


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
    pool = events if service is None else events.filter(pl.col("service") == service)
    if pool.is_empty():
        raise ByodError(f"no events to split{f' in service {service!r}' if service else ''}")
    roles = leave_one_out_roles(pool, min_events=min_events)
    test = roles.filter(pl.col("role") == "test").drop("position", "role")
    valid = roles.filter(pl.col("role") == "valid").drop("position", "role")
    history = pl.concat(
        [
            events_before(events, valid.select("user_id", "timestamp", "seq")),
            events.join(valid.select("user_id"), on="user_id", how="anti"),
        ]
    ).sort(EVENT_ORDER)
    return LeaveOneOut(history=history, valid=valid, test=test)


def time_cut(
    events: pl.DataFrame, cut: datetime | int, *, horizon: timedelta | int | None = None
) -> TimeCut:
    """History strictly before ``cut``; future in ``[cut, cut + horizon)``.

    Args:
        events: an events table.
        cut: a time (UTC if naive) for timed events; a step (int) for ordinal events.
        horizon: the future window's length: a timedelta, or a number of steps when ordinal.

    """
    events = validate(events, "events")
    ordinal = is_ordinal(events)
    if ordinal != isinstance(cut, int):
        want = (
            "ordinal (steps, no clock time): cut at a step, an integer"
            if ordinal
            else "timed: cut at a datetime"
        )
        raise ByodError(f"cannot cut at {cut!r}: these events are {want}")
    cut_lit = _cut_literal(cut)
    history = events.filter(pl.col("timestamp") < cut_lit).sort(EVENT_ORDER)
    future = events.filter(pl.col("timestamp") >= cut_lit)
    if horizon is not None:
        end = _cut_literal(cut + horizon) if ordinal else cut_lit + horizon
        future = future.filter(pl.col("timestamp") < end)
    return TimeCut(history=history, future=future.sort(EVENT_ORDER), cut=cut)


def _cut_literal(cut: datetime | int) -> pl.Expr:
    if isinstance(cut, int):
        return step_time(pl.lit(cut, pl.Int64))
    if cut.tzinfo:
        return pl.lit(cut).cast(pl.Datetime("us", "UTC"))
    return pl.lit(cut).dt.replace_time_zone("UTC")
