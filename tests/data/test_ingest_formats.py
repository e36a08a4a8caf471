"""Every supported format (TSV, gzipped CSV, JSON Lines, Parquet) accounts for every row."""

import gzip
import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.errors import ConfigError

CSV_LOG = (
    b"uid,ts,title\n"  # 1
    b"u1,2024-01-01T00:00:00Z,a\n"  # 2 ok
    b"u1,bad,b\n"  # 3 bad_timestamp
    b"u2,2024-01-01T00:00:00Z\n"  # 4 ragged_row
    b"u3,2024-01-01T00:00:00Z,\xff\n"  # 5 undecodable_bytes
    b'u4,2024-01-01T09:00:00+09:00,"\xed\x95\x9c\n\xea\xb8\x80"\n'  # 6 ok, Korean on two lines
    b"u1,2024-01-01T00:00:00Z,a\n"  # 7 duplicate
)
CSV_EXPECTED = {3: "bad_timestamp", 4: "ragged_row", 5: "undecodable_bytes", 7: "duplicate"}


def _reasons(rejects: pl.DataFrame) -> dict[int, str]:
    return dict(zip(rejects["row"], rejects["reason"], strict=True))


@pytest.mark.parametrize("name", ["log.csv", "log.csv.gz"])
def test_plain_and_gzipped_csv_give_the_same_result(
    tmp_path, write_config, run_ingest, name
) -> None:
    data = gzip.compress(CSV_LOG) if name.lower().endswith(".gz") else CSV_LOG
    (tmp_path / name).write_bytes(data)
    result, rejects = run_ingest(write_config({"path": name}))
    assert _reasons(rejects) == CSV_EXPECTED
    assert result.events.select("user_id", "text", "seq").rows() == [
        ("u1", "a", 2),
        ("u4", "한 글", 6),
    ]
    assert result.events["timestamp"].to_list() == [datetime(2024, 1, 1, tzinfo=UTC)] * 2


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("name", ["log.csv.gzip", "log.CSV.GZ"])
def test_csv_with_other_gzip_suffixes(tmp_path, write_config, run_ingest, name) -> None:
    (tmp_path / name).write_bytes(gzip.compress(CSV_LOG))
    result, rejects = run_ingest(write_config({"path": name}))
    assert _reasons(rejects) == CSV_EXPECTED and result.events.height == 2


def test_tsv_with_quotes_korean_and_ragged_rows(tmp_path, write_config, run_ingest) -> None:
    lines = [
        "uid\tts\ttitle\tprice",  # 1
        "u1\t1704067200\t신발\t30000",  # 2 ok
        'u2\t1704067201\t"탭\t포함"\t5',  # 3 ok, quoted tab
        "u3\t1704067202\tx",  # 4 ragged short
        "u4\t1704067203\tx\t1\textra",  # 5 ragged long
        "u5\t1704067200000\tms\t1",  # 6 epoch_ms read as epoch_s: year ~55,970
        "u6\t\tnone\t1",  # 7 empty timestamp
        "\t1704067204\tanon\t1",  # 8 missing_user_id
    ]
    (tmp_path / "log.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = write_config({"path": "log.tsv", "time_format": "epoch_s", "text": "{title} ({price})"})
    result, rejects = run_ingest(cfg)
    assert _reasons(rejects) == {
        4: "ragged_row",
        5: "ragged_row",
        6: "bad_timestamp",
        7: "bad_timestamp",
        8: "missing_user_id",
    }
    assert result.events["text"].to_list() == ["신발 (30000)", "탭 포함 (5)"]
    assert result.events["timestamp"].to_list() == [
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC),
    ]


def test_explicit_format_and_delimiter_override_the_suffix(
    tmp_path, write_config, run_ingest
) -> None:
    (tmp_path / "log.txt").write_text("uid;ts;title\nu1;2024-01-01;a;b\nu2;2024-01-02;c\n")
    result, rejects = run_ingest(
        write_config({"path": "log.txt", "format": "csv", "delimiter": ";"})
    )
    assert _reasons(rejects) == {2: "ragged_row"}
    assert result.events["text"].to_list() == ["c"]


JSONL = [
    b'{"uid": "u1", "ts": "2024-01-01T00:00:00Z", "title": "a", "tags": {"x": [1, "y"]}}',  # 1
    b'{"uid": "u2", "ts": "2024-01-01T00:00:00Z", "title": "b"}',  # 2 ok, optional key absent
    b'{"uid": "u3", "ts": "2024-01-01T00:00:00Z", "title": "c"',  # 3 bad JSON
    b"[1, 2]",  # 4 not an object
    b"",  # 5 blank: not a record
    b'"just a string"',  # 6 not an object
    b'{"uid": null, "ts": "2024-01-01T00:00:00Z", "title": "d"}',  # 7 missing_user_id
    b'{"uid": "u8", "ts": "2024-01-01T00:00:00Z", "title": "\xff"}',  # 8 undecodable
    '{"uid": "u9", "ts": "2024-01-02", "title": "한국어", "tags": null}'.encode(),  # 9 ok
    b'{"uid": 10, "ts": 1704067200, "title": 5}',  # 10 number timestamp: bad iso8601
    b'{"uid": "u11", "ts": "2024-01-01T00:00:00Z", "title": true, "tags": 1.5}',  # 11 ok
    b'{"uid": "u12", "title": "no time"}',  # 12 key missing in this record
]


@pytest.mark.parametrize("name", ["log.jsonl", "log.ndjson", "log.jsonl.gz"])
def test_jsonl_bad_lines_optional_keys_and_nested_values(
    tmp_path, write_config, run_ingest, name
) -> None:
    data = b"\n".join(JSONL) + b"\n"
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    cfg = write_config(
        {"path": name, "text": "{title} {tags}", "optional_columns": ["tags"], "timezone": "UTC"}
    )
    result, rejects = run_ingest(cfg)
    assert _reasons(rejects) == {
        3: "bad_json",
        4: "bad_json",
        6: "bad_json",
        7: "missing_user_id",
        8: "undecodable_bytes",
        10: "bad_timestamp",
        12: "bad_timestamp",
    }
    by_row = {r["row"]: r for r in rejects.iter_rows(named=True)}
    assert "expected an object, got list" in by_row[4]["detail"]
    assert "expected an object, got str" in by_row[6]["detail"]
    assert by_row[3]["raw"] == JSONL[2].decode()
    assert result.summary["read"] == 11  # the blank line is not a record
    ev = result.events
    assert ev.select("user_id", "text", "seq").rows() == [
        ("u1", 'a {"x":[1,"y"]}', 1),  # nested values as compact JSON
        ("u2", "b", 2),  # absent optional key renders as nothing
        ("u9", "한국어", 9),
        ("u11", "true 1.5", 11),
    ]


def test_optional_column_absent_from_the_whole_file(tmp_path, write_config, run_ingest) -> None:
    (tmp_path / "log.jsonl").write_text('{"uid": "u1", "ts": "2024-01-01", "title": "a"}\n')
    cfg = write_config({"path": "log.jsonl", "text": "{title} {tags}", "optional_columns": "tags"})
    result, _ = run_ingest(cfg)
    assert result.events["text"].to_list() == ["a"]


def test_optional_columns_alone_reject_rows_where_all_are_absent(
    tmp_path, write_config, run_ingest
) -> None:
    (tmp_path / "log.jsonl").write_text(
        '{"uid": "u1", "ts": "2024-01-01", "a": "x"}\n{"uid": "u2", "ts": "2024-01-01"}\n'
    )
    cfg = write_config({"path": "log.jsonl", "text": "{a}/{b}", "optional_columns": ["a", "b"]})
    result, rejects = run_ingest(cfg)
    assert result.events["text"].to_list() == ["x/"]
    assert _reasons(rejects) == {2: "empty_text"}


def test_jsonl_with_a_byte_order_mark(tmp_path, write_config, run_ingest) -> None:
    lines = [
        '{"uid": "u1", "ts": "2024-01-01", "title": "a"}',
        '{"uid": "u2", "ts": "2024-01-01", "title": "b"}',
    ]
    (tmp_path / "log.jsonl").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    result, rejects = run_ingest(write_config({"path": "log.jsonl"}))
    assert rejects.height == 0 and result.events["user_id"].to_list() == ["u1", "u2"]


def test_parquet_naive_timestamps_get_the_configured_timezone(
    tmp_path, write_config, run_ingest
) -> None:
    pl.DataFrame(
        {
            "uid": ["u1", None, "u3", "u4"],
            "ts": [datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 9), None, datetime(1800, 1, 1)],
            "title": ["a", "b", "c", "d"],
            "price": [1.5, 2.0, 3.0, 4.0],
        }
    ).write_parquet(tmp_path / "naive.parquet")
    cfg = write_config(
        {"path": "naive.parquet", "timezone": "Asia/Seoul", "text": "{title} {price}"}
    )
    result, rejects = run_ingest(cfg)
    # Parquet rows are numbered by position, from 1.
    assert _reasons(rejects) == {2: "missing_user_id", 3: "bad_timestamp", 4: "bad_timestamp"}
    assert result.events.select("user_id", "timestamp", "text", "seq").rows() == [
        ("u1", datetime(2024, 1, 1, 0, tzinfo=UTC), "a 1.5", 1)
    ]


def test_parquet_aware_and_date_columns(tmp_path, write_config, run_ingest) -> None:
    aware = pl.DataFrame(
        {"uid": ["u1"], "ts": [datetime(2024, 1, 1, 9)], "title": ["a"]}
    ).with_columns(pl.col("ts").dt.replace_time_zone("Asia/Seoul").dt.cast_time_unit("ns"))
    aware.write_parquet(tmp_path / "aware.parquet")
    pl.DataFrame({"uid": [1], "ts": [date(2024, 1, 2)], "title": ["b"]}).write_parquet(
        tmp_path / "date.parquet"
    )
    cfg = write_config(
        # The zone in the file wins over `timezone` (which only applies to naive values).
        {"path": "aware.parquet", "timezone": "America/New_York"},
        {"path": "date.parquet", "timezone": "Asia/Seoul"},
    )
    result, _ = run_ingest(cfg)
    assert result.events.select("user_id", "timestamp").rows() == [
        ("u1", datetime(2024, 1, 1, 0, tzinfo=UTC)),
        ("1", datetime(2024, 1, 1, 15, tzinfo=UTC)),  # integer ids become strings
    ]


def test_parquet_integer_epoch_ms(tmp_path, write_config, run_ingest) -> None:
    pl.DataFrame(
        {"uid": ["u1", "u2"], "ts": [1704067200123, 1704067200], "title": ["a", "b"]}
    ).write_parquet(tmp_path / "ms.parquet")
    result, rejects = run_ingest(write_config({"path": "ms.parquet", "time_format": "epoch_ms"}))
    assert rejects.height == 0
    assert result.events["timestamp"].to_list() == [
        datetime(2024, 1, 1, 0, 0, 0, 123000, tzinfo=UTC),
        datetime(1970, 1, 20, 17, 21, 7, 200000, tzinfo=UTC),  # seconds read as ms: still valid
    ]


def test_parquet_integer_epoch_ms_read_as_seconds_is_rejected(
    tmp_path, write_config, run_ingest
) -> None:
    pl.DataFrame({"uid": ["u1"], "ts": [1704067200123], "title": ["a"]}).write_parquet(
        tmp_path / "ms.parquet"
    )
    result, rejects = run_ingest(write_config({"path": "ms.parquet", "time_format": "epoch_s"}))
    assert result.events.height == 0 and _reasons(rejects) == {1: "bad_timestamp"}


def test_parquet_numeric_time_with_a_text_format_is_a_config_error(tmp_path, write_config) -> None:
    pl.DataFrame({"uid": ["u1"], "ts": [1704067200], "title": ["a"]}).write_parquet(
        tmp_path / "n.parquet"
    )
    with pytest.raises(ConfigError, match="numeric .* use epoch_s or epoch_ms"):
        ingest(load_ingest_config(write_config({"path": "n.parquet", "time_format": "iso8601"})))


def test_parquet_with_a_nested_column_and_a_rejected_row(
    tmp_path, write_config, run_ingest
) -> None:
    pl.DataFrame(
        {"uid": ["u1", None], "ts": [datetime(2024, 1, 1)] * 2, "title": ["a", "b"],
         "tags": [[1, 2], [3]], "took": [timedelta(seconds=1)] * 2, "blob": [b"x", b"\xff"]}
    ).write_parquet(tmp_path / "nested.parquet")  # fmt: skip
    result, rejects = run_ingest(write_config({"path": "nested.parquet"}))
    assert result.events.height == 1 and _reasons(rejects) == {2: "missing_user_id"}
    raw = json.loads(rejects["raw"][0])
    assert raw["title"] == "b" and raw["tags"] == "[3]" and raw["blob"] == "\\xff"
    assert raw["uid"] is None and raw["took"] == "0:00:01"
