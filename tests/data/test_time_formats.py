"""Timestamps of every supported format land in UTC; unusable or out-of-range values are rejected."""

from datetime import UTC, datetime

import polars as pl
import pytest

from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.data.timeparse import parse_time
from byod.errors import ByodError, ConfigError


def _parse(values: list, fmt: str, timezone: str = "UTC", dtype=pl.String) -> list:
    frame = pl.DataFrame({"ts": pl.Series(values, dtype=dtype)})
    return frame.select(parse_time(pl.col("ts"), dtype, fmt, timezone, name="ts"))["ts"].to_list()


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("epoch_s", "1704067200", _utc(2024, 1, 1)),
        ("epoch_s", " 1704067200 ", _utc(2024, 1, 1)),  # surrounding blanks are stripped
        ("epoch_s", "1704067200.5", _utc(2024, 1, 1, 0, 0, 0, 500000)),
        ("epoch_s", "-86400", _utc(1969, 12, 31)),
        ("epoch_ms", "1704067200123", _utc(2024, 1, 1, 0, 0, 0, 123000)),
        ("iso8601", "2024-01-02T03:04:05Z", _utc(2024, 1, 2, 3, 4, 5)),
        ("iso8601", "2024-01-02t03:04:05z", _utc(2024, 1, 2, 3, 4, 5)),
        ("iso8601", "2024-01-02T03:04:05.123456Z", _utc(2024, 1, 2, 3, 4, 5, 123456)),
        ("iso8601", "2024-01-02T03:04:05+09:00", _utc(2024, 1, 1, 18, 4, 5)),
        ("iso8601", "2024-01-02T03:04:05-05:00", _utc(2024, 1, 2, 8, 4, 5)),
        ("iso8601", "2024-01-02T03:04+09:00", _utc(2024, 1, 1, 18, 4)),
        ("iso8601", "2024-01-02 03:04:05", _utc(2024, 1, 1, 18, 4, 5)),  # naive: Asia/Seoul
        ("iso8601", "2024-01-02T03:04", _utc(2024, 1, 1, 18, 4)),
        ("iso8601", "2024-01-02", _utc(2024, 1, 1, 15)),  # date only: local midnight
        ("%d/%m/%Y %H:%M", "02/01/2024 03:04", _utc(2024, 1, 1, 18, 4)),
        ("%Y%m%d%H%M%S", "20240102030405", _utc(2024, 1, 1, 18, 4, 5)),
        ("%Y/%m/%d %H:%M:%S %z", "2024/01/02 03:04:05 +0000", _utc(2024, 1, 2, 3, 4, 5)),
    ],
)
def test_supported_formats(fmt, value, expected) -> None:
    assert _parse([value], fmt, "Asia/Seoul") == [expected]


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("epoch_s", "1704067200123"),  # milliseconds read as seconds: year ~55,970
        ("epoch_s", "1e20"),  # overflow
        ("epoch_s", ""),
        ("epoch_s", "NaN"),
        ("epoch_s", "inf"),
        ("epoch_s", "soon"),
        ("epoch_ms", "1704067200123000"),  # microseconds read as milliseconds
        ("iso8601", "yesterday"),
        ("iso8601", "2024-13-01"),
        ("iso8601", "2024-02-30 10:00:00"),
        ("iso8601", ""),
        ("%d/%m/%Y", "2024-01-02"),
    ],
)
def test_unusable_values_become_null(fmt, value) -> None:
    assert _parse([value], fmt) == [None]


def test_valid_years_are_1900_to_2199() -> None:
    values = ["1899-12-31 23:59:59", "1900-01-01 00:00:00", "2199-12-31 23:59:59", "2200-01-01"]
    assert _parse(values, "iso8601") == [
        None,
        _utc(1900, 1, 1),
        _utc(2199, 12, 31, 23, 59, 59),
        None,
    ]
    # The same bounds hold for epochs (-2208988800 s is 1900-01-01).
    assert _parse(["-2208988800", "-2208988801"], "epoch_s") == [_utc(1900, 1, 1), None]


def test_daylight_saving_gap_is_rejected_and_overlap_takes_the_first() -> None:
    got = _parse(["2024-03-10 02:30:00", "2024-11-03 01:30:00"], "iso8601", "America/New_York")
    assert got == [None, _utc(2024, 11, 3, 5, 30)]  # 01:30 EDT (UTC-4), the earlier instant


def test_typed_columns() -> None:
    assert _parse([1704067200, None], "epoch_s", dtype=pl.Int64) == [_utc(2024, 1, 1), None]
    assert _parse([1704067200.25], "epoch_s", dtype=pl.Float64) == [
        _utc(2024, 1, 1, 0, 0, 0, 250000)
    ]
    assert _parse([datetime(2024, 1, 1, 9)], "iso8601", "Asia/Seoul", dtype=pl.Datetime("ms")) == [
        _utc(2024, 1, 1)
    ]
    with pytest.raises(ConfigError, match="numeric"):
        _parse([1], "iso8601", dtype=pl.Int64)
    with pytest.raises(ConfigError, match="cannot hold a timestamp"):
        _parse([True], "epoch_s", dtype=pl.Boolean)


def test_formats_through_ingest(tmp_path, write_config, run_ingest) -> None:
    """One file per format; the valid values all name the same instant."""
    cases = {
        "s.csv": ("epoch_s", ["1704067200", "1704067200000"]),
        "ms.csv": ("epoch_ms", ["1704067200000", "1704067200000000"]),
        "iso.csv": ("iso8601", ["2024-01-01T09:00:00+09:00", "2024-01-01T09:00:00"]),
        "pat.csv": ("%Y.%m.%d %H:%Mh", ["2024.01.01 09:00h", "2024.01.01"]),
    }
    sources = []
    for name, (fmt, values) in cases.items():
        body = "".join(f"{name}{i},{v},x\n" for i, v in enumerate(values))
        (tmp_path / name).write_text("uid,ts,title\n" + body)
        sources.append({"path": name, "time_format": fmt, "timezone": "Asia/Seoul"})
    result, rejects = run_ingest(write_config(*sources))
    # The naive ISO value is Seoul wall-clock time, the aware one carries its own offset.
    assert result.events["timestamp"].to_list() == [_utc(2024, 1, 1)] * 5
    assert rejects.select("source", "row", "reason").rows() == [
        (str(tmp_path / "s.csv"), 3, "bad_timestamp"),
        (str(tmp_path / "ms.csv"), 3, "bad_timestamp"),
        (str(tmp_path / "pat.csv"), 3, "bad_timestamp"),
    ]
    assert result.summary["accepted"] == 5


def test_invalid_strftime_directive_is_a_config_error(tmp_path, write_config) -> None:
    (tmp_path / "s.csv").write_text("uid,ts,title\nu1,2024-01-01,x\n")
    with pytest.raises(ConfigError):
        ingest(load_ingest_config(write_config({"path": "s.csv", "time_format": "%Y-%Q"})))


def test_hour_only_strftime_pattern_parses_or_is_a_config_error(tmp_path, write_config) -> None:
    (tmp_path / "s.csv").write_text("uid,ts,title\nu1,2024-01-01 09,x\n")
    try:
        cfg = load_ingest_config(write_config({"path": "s.csv", "time_format": "%Y-%m-%d %H"}))
        result = ingest(cfg)
    except ByodError as exc:
        assert "hour and minute" in str(exc)  # a clear config error is fine too
        return
    assert result.events["timestamp"].to_list() == [_utc(2024, 1, 1, 9)]
