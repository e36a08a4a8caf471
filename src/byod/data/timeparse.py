"""Turn a timestamp column of any supported type and format into UTC microseconds.

Unparseable values become null (the caller rejects those rows with a reason); a column type that
cannot hold the requested format at all is a config error.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from byod.data.schema import TIME_DTYPE
from byod.errors import ConfigError

__all__ = ["parse_time", "parse_step", "step_time", "VALID_YEARS", "ORDINAL", "MAX_STEP"]

# Outside these years a timestamp is almost always a unit mistake (epoch_ms read as epoch_s).
VALID_YEARS = (1900, 2200)

_LO = datetime(VALID_YEARS[0], 1, 1, tzinfo=UTC)
_HI = datetime(VALID_YEARS[1], 1, 1, tzinfo=UTC)
_ISO_AWARE = ("%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M%z")
_ISO_NAIVE = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def parse_time(expr: pl.Expr, dtype: pl.DataType, fmt: str, timezone: str, *, name: str) -> pl.Expr:
    """Return an expression giving ``Datetime('us', 'UTC')``, null where a value is unusable.

    Args:
        expr: the raw timestamp column.
        dtype: its type (strings from text files; any type from Parquet).
        fmt: ``epoch_s``, ``epoch_ms``, ``iso8601`` or a strftime pattern.
        timezone: IANA zone for naive values.
        name: the column name, for error messages.

    """
    if dtype.is_temporal():
        out = _from_temporal(expr, dtype, timezone)
    elif dtype.is_numeric():
        if not fmt.startswith("epoch"):
            raise ConfigError(
                f"column {name!r} is numeric ({dtype}) but time_format is {fmt!r}; "
                "use epoch_s or epoch_ms"
            )
        out = _from_epoch(expr.cast(pl.Float64), fmt)
    elif dtype == pl.String:
        out = _from_string(expr.str.strip_chars(), fmt, timezone)
    else:
        raise ConfigError(f"column {name!r} has type {dtype}, which cannot hold a timestamp")
    return pl.when(out.is_between(_LO, _HI, closed="left")).then(out)


ORDINAL = "ordinal"  # the time_format of order-only logs: the time column holds integer steps
# One step is stored as one day after 1970-01-01, so recency counted in days counts steps; the
# bound keeps every step a calendar date (Python's datetime ends in 9999).
MAX_STEP = 2_900_000
_US_PER_DAY = 86_400 * 1_000_000


def parse_step(expr: pl.Expr, dtype: pl.DataType, *, name: str) -> pl.Expr:
    """Return the Int64 step of an ordinal log, null where a value is not one.

    A step is a whole number from 0 to ``MAX_STEP``; integral floats (``3.0`` from a Parquet
    float column) count, text must be digits.

    Args:
        expr: the raw order column.
        dtype: its type (strings from text files; integers or floats from Parquet).
        name: the column name, for error messages.

    Raises:
        ConfigError: a column type that cannot hold steps (dates, lists, ...).

    """
    if dtype.is_integer():
        out = expr.cast(pl.Int64, strict=False)
    elif dtype.is_float():
        out = pl.when(expr.round(0) == expr).then(expr.cast(pl.Int64, strict=False))
    elif dtype == pl.String:
        text = expr.str.strip_chars()
        out = pl.when(text.str.contains(r"^\d{1,12}$")).then(text.cast(pl.Int64, strict=False))
    else:
        raise ConfigError(
            f"column {name!r} has type {dtype}, which cannot hold ordinal steps (whole numbers); "
            "use a time format such as iso8601 for times"
        )
    return pl.when(out.is_between(0, MAX_STEP)).then(out)


def step_time(step: pl.Expr) -> pl.Expr:
    """The timestamp standing for a step: ``1970-01-01 + step`` days (``Datetime("us", "UTC")``)."""
    return pl.from_epoch(step.cast(pl.Int64) * _US_PER_DAY, time_unit="us").dt.replace_time_zone(
        "UTC"
    )


def _localize(naive: pl.Expr, timezone: str) -> pl.Expr:
    # Wall-clock times that do not exist (DST gap) become null; ambiguous ones take the first.
    return naive.dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")


def _from_temporal(expr: pl.Expr, dtype: pl.DataType, timezone: str) -> pl.Expr:
    if dtype == pl.Date:
        return _localize(expr.cast(pl.Datetime("us")), timezone)
    if not isinstance(dtype, pl.Datetime):
        raise ConfigError(f"a {dtype} column cannot hold a timestamp")
    expr = expr.dt.cast_time_unit("us")
    if dtype.time_zone is None:
        return _localize(expr, timezone)
    return expr.dt.convert_time_zone("UTC")


def _from_epoch(value: pl.Expr, fmt: str) -> pl.Expr:
    """Epoch seconds / milliseconds (Float64) to UTC; NaN, inf and overflow become null."""
    scale = {"epoch_s": 1_000_000, "epoch_ms": 1_000}.get(fmt)
    if scale is None:
        raise ConfigError(f"unknown epoch format {fmt!r}")
    micros = (value * scale).round(0).cast(pl.Int64, strict=False)
    return pl.from_epoch(micros, time_unit="us").dt.replace_time_zone("UTC")


def _from_string(expr: pl.Expr, fmt: str, timezone: str) -> pl.Expr:
    if fmt.startswith("epoch"):
        return _from_epoch(expr.cast(pl.Float64, strict=False), fmt)
    if fmt == "iso8601":
        # One normal form: space between date and time, 'Z' as an explicit +00:00 offset.
        norm = expr.str.replace(r"^(\d{4}-\d\d-\d\d)[Tt]", "${1} ").str.replace(r"[Zz]$", "+00:00")
        aware = [norm.str.to_datetime(f, time_unit="us", strict=False) for f in _ISO_AWARE]
        naive = [
            _localize(norm.str.to_datetime(f, time_unit="us", strict=False), timezone)
            for f in _ISO_NAIVE
        ]
        return pl.coalesce([a.dt.convert_time_zone("UTC") for a in aware] + naive).cast(TIME_DTYPE)
    parsed = expr.str.to_datetime(fmt, time_unit="us", strict=False)
    if "%z" in fmt or "%:z" in fmt or "%#z" in fmt:
        return parsed.dt.convert_time_zone("UTC")
    return _localize(parsed, timezone)
