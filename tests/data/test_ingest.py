import gzip
import json
from datetime import UTC, datetime

import polars as pl
import pytest

from byod.data.config import load_ingest_config
from byod.data.ingest import ingest

BROKEN = (
    b"uid,ts,title,price\n"  # row 1: header
    b"u1,2024-01-02 10:00:00,Shoes,30000\n"  # 2 ok
    b"u1,not-a-time,Hat,1000\n"  # 3 bad_timestamp
    b"u2,2024-01-03 09:00:00,,\n"  # 4 empty_text
    b"u2,2024-01-03 09:00:00,Bag\n"  # 5 ragged (short)
    b"u3,2024-01-04 09:00:00,Bag,5,extra\n"  # 6 ragged (long)
    b"u1,2024-01-02 10:00:00,Shoes,30000\n"  # 7 duplicate of 2
    b",2024-01-05 00:00:00,Cap,1\n"  # 8 missing_user_id
    b"u4,2024-01-06 00:00:00,\xff\xfeBad,1\n"  # 9 undecodable_bytes
    b'u5,2024-01-07 00:00:00,"\xeb\xa9\x80\xed\x8b\xb0\n\xeb\x9d\xbc\xec\x9d\xb8",1000\n'  # 10 ok, multi-line
)
EXPECTED = {3: "bad_timestamp", 4: "empty_text", 5: "ragged_row", 6: "ragged_row",
            7: "duplicate", 8: "missing_user_id", 9: "undecodable_bytes"}  # fmt: skip


def _run(cfg_path):
    result = ingest(load_ingest_config(cfg_path))
    rejects = pl.read_csv(cfg_path.parent / "out/rejects.csv")
    return result, rejects


def _check_counts(summary: dict) -> None:
    assert summary["read"] == summary["accepted"] + summary["rejected"] + summary["duplicates"]
    for s in summary["sources"]:
        assert s["read"] == s["accepted"] + s["rejected"] + s["duplicates"]


def test_broken_csv_every_bad_row_rejected_with_reason(tmp_path, write_config) -> None:
    (tmp_path / "shop.csv").write_bytes(BROKEN)
    cfg = write_config(
        {"path": "shop.csv", "text": "{title} | {price} KRW", "timezone": "Asia/Seoul"}
    )
    result, rejects = _run(cfg)
    assert rejects.columns == ["source", "row", "reason", "column", "detail", "raw"]
    assert dict(zip(rejects["row"], rejects["reason"], strict=True)) == EXPECTED
    s = result.summary
    assert (s["read"], s["accepted"], s["rejected"], s["duplicates"]) == (9, 2, 6, 1)
    _check_counts(s)
    assert result.events["text"].to_list() == ["Shoes | 30000 KRW", "멀티 라인 | 1000 KRW"]
    # Naive local time in Asia/Seoul is stored as UTC.
    assert result.events["timestamp"][0] == datetime(2024, 1, 2, 1, tzinfo=UTC)
    bad_ts = rejects.filter(pl.col("row") == 3).row(0, named=True)
    assert bad_ts["column"] == "ts" and "not-a-time" in bad_ts["detail"]
    assert json.loads(bad_ts["raw"])["title"] == "Hat"
    assert (tmp_path / "out/events.summary.json").exists()


def test_drop_duplicates_off_keeps_them(tmp_path, write_config) -> None:
    (tmp_path / "shop.csv").write_bytes(BROKEN)
    result, _ = _run(write_config({"path": "shop.csv"}, drop_duplicates=False))
    assert result.summary["duplicates"] == 0 and result.events.height == 3
    _check_counts(result.summary)


def test_tsv_gzip_and_several_sources(tmp_path, write_config) -> None:
    (tmp_path / "a.tsv").write_text("uid\tts\ttitle\nu1\t1704067200\tA\nu2\t1704067201\tB\n")
    with gzip.open(tmp_path / "b.csv.gz", "wt") as fh:
        fh.write("user,time,q\nu1,2024-01-01T00:00:05Z,shoes\nu3,2024-01-01T09:00:00+09:00,hat\n")
    cfg = write_config(
        {"path": "a.tsv", "time_format": "epoch_s", "service": "shop", "extra_columns": ["title"]},
        {"path": "b.csv.gz", "service": "search", "user_column": "user", "time_column": "time",
         "text": "search: {q}"},
    )  # fmt: skip
    result, rejects = _run(cfg)
    ev = result.events
    assert rejects.height == 0 and ev.height == 4
    assert sorted(ev["service"].unique()) == ["search", "shop"]
    assert ev["seq"].is_unique().all()
    assert ev["title"].to_list()[:2] == ["A", "B"]
    hat = ev.filter(pl.col("text") == "search: hat")
    assert hat["timestamp"][0] == datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
    _check_counts(result.summary)


def test_jsonl_bad_lines_optional_and_nested(tmp_path, write_config) -> None:
    lines = [
        '{"uid": "u1", "ts": "2024-01-01T00:00:00Z", "title": "a", "tags": {"x": 1}}',
        '{"uid": "u2", "ts": "2024-01-01T00:00:00Z", "title": "b"}',
        '{"uid": "u3", "ts": "2024-01-01T00:00:00Z", "title": "c"',  # bad JSON
        "[1, 2]",  # not an object
        "",  # blank: not a record
        '{"uid": "u4", "ts": 1704067200, "title": 5}',  # number timestamp string, number title
    ]
    (tmp_path / "log.jsonl").write_text("\n".join(lines) + "\n")
    cfg = write_config(
        {"path": "log.jsonl", "text": "{title} {tags}", "optional_columns": ["tags"]}
    )
    result, rejects = _run(cfg)
    assert dict(zip(rejects["row"], rejects["reason"], strict=True)) == {
        3: "bad_json", 4: "bad_json", 6: "bad_timestamp"}  # fmt: skip
    assert result.events["text"].to_list() == ['a {"x":1}', "b"]
    _check_counts(result.summary)


def test_parquet_with_typed_timestamps(tmp_path, write_config) -> None:
    naive = pl.DataFrame({"uid": ["u1", "u2"], "ts": [datetime(2024, 1, 1, 9), datetime(2024, 1, 2, 9)],
                          "title": ["a", "b"]})  # fmt: skip
    naive.write_parquet(tmp_path / "naive.parquet")
    ms = pl.DataFrame({"uid": ["u3"], "ts": [1704067200123], "title": ["c"]})
    ms.write_parquet(tmp_path / "ms.parquet")
    cfg = write_config(
        {"path": "naive.parquet", "timezone": "Asia/Seoul"},
        {"path": "ms.parquet", "time_format": "epoch_ms"},
    )
    ev = _run(cfg)[0].events
    assert ev["timestamp"].to_list()[:2] == [
        datetime(2024, 1, 1, 0, tzinfo=UTC),
        datetime(2024, 1, 2, 0, tzinfo=UTC),
    ]
    assert ev["timestamp"][2] == datetime(2024, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("epoch_s", "978300760", datetime(2000, 12, 31, 22, 12, 40, tzinfo=UTC)),
        ("epoch_ms", "978300760123", datetime(2000, 12, 31, 22, 12, 40, 123000, tzinfo=UTC)),
        ("iso8601", "2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("iso8601", "2024-01-02T03:04:05+09:00", datetime(2024, 1, 1, 18, 4, 5, tzinfo=UTC)),
        ("iso8601", "2024-01-02 03:04:05", datetime(2024, 1, 1, 18, 4, 5, tzinfo=UTC)),
        ("iso8601", "2024-01-02", datetime(2024, 1, 1, 15, tzinfo=UTC)),
        ("%d/%m/%Y %H:%M", "02/01/2024 03:04", datetime(2024, 1, 1, 18, 4, tzinfo=UTC)),
        ("epoch_s", "978300760123", None),  # milliseconds read as seconds: year ~33,000
        ("iso8601", "yesterday", None),
    ],
)
def test_time_formats(tmp_path, write_config, fmt, value, expected) -> None:
    (tmp_path / "t.csv").write_text(f"uid,ts,title\nu1,{value},x\n")
    result, rejects = _run(
        write_config({"path": "t.csv", "time_format": fmt, "timezone": "Asia/Seoul"})
    )
    if expected is None:
        assert rejects["reason"].to_list() == ["bad_timestamp"]
    else:
        assert result.events["timestamp"].to_list() == [expected]
