"""A deliberately broken CSV log: every bad row is accounted for, with its reason and row number.

Row numbers are 1-based and count the header (the first data row is row 2); a quoted value spanning
two lines is still one row.
"""

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from byod.data.schema import EVENT_SCHEMA, read_table

BROKEN = (
    b"uid,ts,title,price\n"  # 1 header
    b"u1,2024-01-02 10:00:00,Shoes,30000\n"  # 2 ok
    b"u1,not-a-time,Hat,1000\n"  # 3 bad_timestamp
    b"u2,2024-01-03 09:00:00,,\n"  # 4 empty_text (all template fields empty)
    b'u2,2024-01-03 09:00:00,"   ",\t\n'  # 5 empty_text (whitespace only)
    b"u2,2024-01-03 09:00:00,Bag\n"  # 6 ragged_row (short)
    b"u3,2024-01-04 09:00:00,Bag,5,extra\n"  # 7 ragged_row (long)
    b"u1,2024-01-02 10:00:00,Shoes,30000\n"  # 8 duplicate of row 2
    b",2024-01-05 00:00:00,Cap,1\n"  # 9 missing_user_id (empty)
    b'"  ",2024-01-05 00:00:00,Cap,1\n'  # 10 missing_user_id (blank)
    b"u4,2024-01-06 00:00:00,\xff\xfeBad,1\n"  # 11 undecodable_bytes
    b'u5,2024-01-07 00:00:00,"\xeb\xa9\x80\xed\x8b\xb0\n\xeb\x9d\xbc\xec\x9d\xb8",1000\n'  # 12 ok
    + 'u6,2024-01-08 00:00:00,"가방, ""큰"" 사이즈",50000\n'.encode()  # 13 ok, Korean
    + b"u7,,Cap,1\n"  # 14 bad_timestamp (empty)
    b"u8,2024-01-09 00:00:00,Tab\there,1\n"  # 15 ok, whitespace normalised
    b"u9,1850-01-01 00:00:00,Old,1\n"  # 16 bad_timestamp (before 1900)
    b",not-a-time,,\n"  # 17 several problems: the first in contract order wins
)
EXPECTED = {
    3: ("bad_timestamp", "ts"),
    4: ("empty_text", "title,price"),
    5: ("empty_text", "title,price"),
    6: ("ragged_row", None),
    7: ("ragged_row", None),
    8: ("duplicate", None),
    9: ("missing_user_id", "uid"),
    10: ("missing_user_id", "uid"),
    11: ("undecodable_bytes", "title"),
    14: ("bad_timestamp", "ts"),
    16: ("bad_timestamp", "ts"),
    17: ("missing_user_id", "uid"),
}
ACCEPTED_ROWS = [2, 12, 13, 15]


@pytest.fixture
def broken(tmp_path, write_config, run_ingest):
    (tmp_path / "shop.csv").write_bytes(BROKEN)
    cfg = write_config(
        {"path": "shop.csv", "text": "{title} | {price} KRW", "timezone": "Asia/Seoul"}
    )
    return run_ingest(cfg)


def test_every_bad_row_has_its_reason_column_and_row_number(broken, tmp_path) -> None:
    _, rejects = broken
    got = {r["row"]: (r["reason"], r["column"]) for r in rejects.iter_rows(named=True)}
    assert got == EXPECTED
    assert rejects["row"].is_unique().all()
    assert set(rejects["source"]) == {str((tmp_path / "shop.csv").resolve())}


def test_counts_add_up_overall_and_per_source(broken) -> None:
    s = broken[0].summary
    assert (s["read"], s["accepted"], s["rejected"], s["duplicates"]) == (16, 4, 11, 1)
    assert s["rejected_by_reason"] == {
        "bad_timestamp": 3,
        "empty_text": 2,
        "missing_user_id": 3,
        "ragged_row": 2,
        "undecodable_bytes": 1,
    }
    (src,) = s["sources"]
    assert (src["read"], src["accepted"], src["rejected"], src["duplicates"]) == (16, 4, 11, 1)


def test_accepted_events_follow_the_contract(broken, tmp_path) -> None:
    result, _ = broken
    ev = result.events
    assert dict(ev.schema) == EVENT_SCHEMA
    assert ev["seq"].to_list() == ACCEPTED_ROWS  # first source: seq is the row number
    assert ev["text"].to_list() == [
        "Shoes | 30000 KRW",
        "멀티 라인 | 1000 KRW",  # embedded newline collapsed to one space
        '가방, "큰" 사이즈 | 50000 KRW',
        "Tab here | 1 KRW",
    ]
    assert ev["user_id"].to_list() == ["u1", "u5", "u6", "u8"]
    # Naive wall-clock times in Asia/Seoul (UTC+9) are stored as UTC.
    assert ev["timestamp"].to_list() == [
        datetime(2024, 1, 2, 1, tzinfo=UTC),
        datetime(2024, 1, 6, 15, tzinfo=UTC),
        datetime(2024, 1, 7, 15, tzinfo=UTC),
        datetime(2024, 1, 8, 15, tzinfo=UTC),
    ]
    assert set(ev["service"]) == {"shop"} and ev["item_id"].null_count() == ev.height
    written = read_table(tmp_path / "out/events.parquet", "events")
    assert written.equals(ev)


def test_reject_details_and_raw_values(broken) -> None:
    _, rejects = broken
    by_row = {r["row"]: r for r in rejects.iter_rows(named=True)}
    assert "not-a-time" in by_row[3]["detail"] and "iso8601" in by_row[3]["detail"]
    assert json.loads(by_row[3]["raw"]) == {
        "uid": "u1",
        "ts": "not-a-time",
        "title": "Hat",
        "price": "1000",
    }
    assert "1850-01-01" in by_row[16]["detail"] and "1900-2199" in by_row[16]["detail"]
    assert by_row[6]["detail"] == "expected 4 fields, found 3"
    assert by_row[7]["detail"] == "expected 4 fields, found 5"
    assert by_row[6]["raw"] == "u2,2024-01-03 09:00:00,Bag"
    assert by_row[7]["raw"] == "u3,2024-01-04 09:00:00,Bag,5,extra"
    bad_bytes = json.loads(by_row[11]["raw"])
    assert bad_bytes["uid"] == "u4" and bad_bytes["title"].startswith("\\xff\\xfe")
    assert "not valid UTF-8" in by_row[11]["detail"]
    dup = json.loads(by_row[8]["raw"])
    assert (dup["user_id"], dup["text"]) == ("u1", "Shoes | 30000 KRW")
    assert "empty" in by_row[4]["detail"] and "{title} | {price} KRW" in by_row[4]["detail"]


def test_summary_json_matches_the_result(broken, tmp_path) -> None:
    result, _ = broken
    on_disk = json.loads((tmp_path / "out/events.summary.json").read_text(encoding="utf-8"))
    for key in ("read", "accepted", "rejected", "duplicates", "rejected_by_reason", "users"):
        assert on_disk[key] == result.summary[key]
    assert on_disk["outputs"]["rejects"] == str((tmp_path / "out/rejects.csv").resolve())
    assert on_disk["services"] == {"shop": {"events": 4, "users": 4}}


def test_clean_bytes_take_the_fast_path_with_the_same_row_numbers(
    tmp_path, write_config, run_ingest
) -> None:
    # No undecodable byte: rows are numbered by the threaded reader, multi-line values included.
    lines = ["uid,ts,title", 'u1,2024-01-01,"two\nlines"']
    lines += [f"u{i},2024-01-01,t{i}" for i in range(3, 3000)]
    lines[1500] = "u1500,2024-01-01"  # row 1501: short
    lines[2500] = "u2500,2024-01-01,a,b"  # row 2501: long
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, rejects = run_ingest(write_config({"path": "big.csv"}))
    assert rejects.select("row", "reason").rows() == [(1501, "ragged_row"), (2501, "ragged_row")]
    assert result.summary["read"] == 2998 and result.events.height == 2996
    ev = result.events
    assert ev.filter(pl.col("user_id") == "u1")["seq"].to_list() == [2]
    # Every accepted row keeps its own row number: the title says which row it was.
    tail = ev.filter(pl.col("seq") > 2)
    assert tail.select((pl.col("text") == "t" + pl.col("seq").cast(pl.String)).all()).item()


def test_windows_line_endings_and_bom(tmp_path, write_config, run_ingest) -> None:
    content = "\ufeffuid,ts,title\r\nu1,2024-01-01T00:00:00Z,a\r\nu2,2024-01-01T00:00:00Z\r\n"
    (tmp_path / "win.csv").write_bytes(content.encode("utf-8"))
    result, rejects = run_ingest(write_config({"path": "win.csv"}))
    assert result.events.select("user_id", "text").rows() == [("u1", "a")]
    assert rejects.select("row", "reason").rows() == [(3, "ragged_row")]


def test_non_utf8_encoding_is_decoded(tmp_path, write_config, run_ingest) -> None:
    (tmp_path / "kr.csv").write_bytes("uid,ts,title\nu1,2024-01-01,한국어 제목\n".encode("cp949"))
    result, rejects = run_ingest(write_config({"path": "kr.csv", "encoding": "cp949"}))
    assert rejects.height == 0
    assert result.events["text"].to_list() == ["한국어 제목"]


def test_header_only_file_gives_an_empty_events_table(tmp_path, write_config, run_ingest) -> None:
    (tmp_path / "empty.csv").write_text("uid,ts,title\n")
    result, rejects = run_ingest(write_config({"path": "empty.csv"}))
    assert result.events.height == 0 and rejects.height == 0
    assert dict(result.events.schema) == EVENT_SCHEMA
    assert result.summary["read"] == 0


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ragged_row_with_undecodable_bytes_is_one_reject(
    tmp_path, write_config, run_ingest
) -> None:
    (tmp_path / "log.csv").write_bytes(
        b"uid,ts,title\nu1,2024-01-01,a\nu2,2024-01-01\xff\nu3,2024-01-01,c\n"
    )
    result, rejects = run_ingest(write_config({"path": "log.csv"}))
    assert rejects.select("row", "reason").rows() == [(3, "ragged_row")]
    assert result.events["user_id"].to_list() == ["u1", "u3"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_careful_read_keeps_non_ascii_header_and_values(tmp_path, write_config, run_ingest) -> None:
    # A bad byte sends the file through the careful (latin-1) read: UTF-8 names and values survive.
    (tmp_path / "kr.csv").write_bytes(
        "\ufeffuid,ts,제목\nu1,2024-01-01,한국어\n".encode()
        + b"u2,2024-01-01,\xff\nu3,2024-01-01\xff\n"
    )
    result, rejects = run_ingest(write_config({"path": "kr.csv", "text": "{제목}"}))
    rejects = rejects.sort("row")
    assert rejects.select("row", "reason").rows() == [(3, "undecodable_bytes"), (4, "ragged_row")]
    assert result.events["text"].to_list() == ["한국어"]
    assert rejects["raw"][1] == "u3,2024-01-01\\xff"
