"""The data contracts: events, labels, interactions and serialized histories.

Every table byod reads or writes between steps is Parquet with one of the schemas below
(documented for users in ``docs/data.md``). Columns beyond the contract are kept ("extra fields").

Events (one row per logged action)::

    user_id    string            not null   who acted (never fed to a model)
    timestamp  timestamp[us,UTC] not null   when
    service    string            not null   which service logged it (shopping, search, ...)
    text       string            not null   the event rendered as text (non-empty)
    item_id    string            nullable   the item acted on, when there is one
    seq        int64             not null   position in the ingested input; breaks timestamp ties
    step       int64             not null   only in ordinal logs: the order step (the timestamp is
                                            derived from it, one step = one day after 1970-01-01)
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from byod.errors import ByodError, InputFileError

__all__ = [
    "EVENT_SCHEMA",
    "LABEL_SCHEMA",
    "INTERACTION_SCHEMA",
    "HISTORY_SCHEMA",
    "TIME_DTYPE",
    "ORDINAL_COLUMN",
    "is_ordinal",
    "validate",
    "read_table",
]

TIME_DTYPE = pl.Datetime("us", "UTC")

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "timestamp": TIME_DTYPE,
    "service": pl.String(),
    "text": pl.String(),
    "item_id": pl.String(),
    "seq": pl.Int64(),
}
EVENT_NULLABLE = frozenset({"item_id"})
# Ordinal logs (order only, no clock) carry their step in this column; its presence marks them.
ORDINAL_COLUMN = "step"

LABEL_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "task": pl.String(),
    "label": pl.String(),
}

INTERACTION_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "item_id": pl.String(),
    "item_text": pl.String(),
    "timestamp": TIME_DTYPE,
    "seq": pl.Int64(),
}

HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "service": pl.String(),
    "n_events": pl.Int64(),
    "n_events_total": pl.Int64(),
    "first_ts": TIME_DTYPE,
    "last_ts": TIME_DTYPE,
    "event_timestamps": pl.List(TIME_DTYPE),
    "event_texts": pl.List(pl.String()),
    "text": pl.String(),
}

_CONTRACTS = {
    "events": (EVENT_SCHEMA, EVENT_NULLABLE),
    "labels": (LABEL_SCHEMA, frozenset()),
    "interactions": (INTERACTION_SCHEMA, frozenset({"seq"})),
    "histories": (HISTORY_SCHEMA, frozenset()),
}


def validate(df: pl.DataFrame, kind: str, *, source: str = "<table>") -> pl.DataFrame:
    """Check ``df`` against the ``kind`` contract; return it with contract columns first.

    Args:
        df: the table to check.
        kind: one of ``events``, ``labels``, ``interactions``, ``histories``.
        source: the file name used in error messages.

    Raises:
        ByodError: a required column is missing, has the wrong type, or holds nulls.

    """
    if kind not in _CONTRACTS:
        raise ValueError(f"kind must be one of {sorted(_CONTRACTS)}, got {kind!r}")
    schema, nullable = _CONTRACTS[kind]
    optional = {"seq"} if kind == "interactions" else set()
    missing = [c for c in schema if c not in df.columns and c not in optional]
    if missing:
        raise ByodError(
            f"{source}: not a byod {kind} table: missing column(s) {missing}; "
            f"columns are {df.columns}; see docs/data.md"
        )
    for name, dtype in schema.items():
        if name not in df.columns:
            continue
        if df.schema[name] != dtype:
            raise ByodError(
                f"{source}: column {name!r} has type {df.schema[name]}, expected {dtype} "
                f"(see docs/data.md)"
            )
        if name not in nullable and df[name].null_count():
            raise ByodError(f"{source}: column {name!r} has {df[name].null_count()} null value(s)")
    if kind == "events" and ORDINAL_COLUMN in df.columns:
        _check_steps(df, source)
    first = [c for c in schema if c in df.columns]
    return df.select(first + [c for c in df.columns if c not in schema])


def is_ordinal(events: pl.DataFrame) -> bool:
    """Whether ``events`` come from an order-only log (a ``step`` column, no clock time)."""
    return ORDINAL_COLUMN in events.columns


def _check_steps(df: pl.DataFrame, source: str) -> None:
    step = df[ORDINAL_COLUMN]
    if step.dtype != pl.Int64():
        raise ByodError(
            f"{source}: column {ORDINAL_COLUMN!r} has type {step.dtype}, expected Int64 "
            "(the step of an ordinal log; see docs/data.md)"
        )
    if step.null_count():
        raise ByodError(
            f"{source}: column {ORDINAL_COLUMN!r} has {step.null_count()} null value(s)"
        )


def read_table(path: str | Path, kind: str) -> pl.DataFrame:
    """Read a Parquet table written by byod and validate it against the ``kind`` contract."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found")
    try:
        df = pl.read_parquet(path, glob=False)
    except Exception as exc:  # polars raises several types for a non-Parquet file
        raise InputFileError(f"{path}: cannot be read as Parquet ({exc})") from exc
    return validate(df, kind, source=str(path))
