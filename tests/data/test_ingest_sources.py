"""Several sources in one run: services, unique ``seq``, extra columns, duplicates."""

import gzip
import json
from datetime import UTC, datetime

import polars as pl
import pytest

from byod.data.config import load_ingest_config
from byod.data.ingest import ingest_sources


@pytest.fixture
def four_sources(tmp_path, write_config, run_ingest):
    (tmp_path / "shop.csv").write_text(
        "uid,ts,title,price,sku\n"
        "u1,2024-01-01 09:00:00,신발,30000, A1 \n"
        "u2,2024-01-01 10:00:00,모자,1000,B2\n"
        "u2,bad,x,1,C3\n"
    )
    (tmp_path / "search.tsv").write_text(
        "user\tq\twhen\nu1\tshoes\t1704067200\nu3\thats\t1704067260\n"
    )
    with gzip.open(tmp_path / "news.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(
            '{"uid": "u1", "ts": "2024-01-02T00:00:00Z", "headline": "뉴스", "section": "it"}\n'
        )
        fh.write('{"uid": "u4", "ts": "2024-01-02T00:00:00Z", "headline": "n2"}\n')
    pl.DataFrame(
        {"uid": ["u1", "u5"], "ts": [datetime(2024, 1, 3), datetime(2024, 1, 4)],
         "svc": ["video", "music"], "name": ["v1", "m1"], "secs": [30, 200]}
    ).write_parquet(tmp_path / "mixed.parquet")  # fmt: skip
    cfg = write_config(
        {"path": "shop.csv", "service": "shopping", "text": "{title} | {price} KRW",
         "item_column": "sku", "extra_columns": ["price"], "timezone": "Asia/Seoul"},
        {"path": "search.tsv", "service": "search", "user_column": "user", "time_column": "when",
         "time_format": "epoch_s", "text": "search: {q}"},
        {"path": "news.jsonl.gz", "service": "news", "text": "{headline} [{section}]",
         "optional_columns": ["section"], "extra_columns": "section"},
        {"path": "mixed.parquet", "service_column": "svc", "text": "{name}",
         "extra_columns": ["secs"]},
    )  # fmt: skip
    return run_ingest(cfg)


def test_each_source_becomes_its_services(four_sources) -> None:
    result, rejects = four_sources
    s = result.summary
    assert s["services"] == {
        "music": {"events": 1, "users": 1},
        "news": {"events": 2, "users": 2},
        "search": {"events": 2, "users": 2},
        "shopping": {"events": 2, "users": 2},
        "video": {"events": 1, "users": 1},
    }
    assert s["users"] == 5 and s["accepted"] == 8 and s["read"] == 9
    assert [src["accepted"] for src in s["sources"]] == [2, 2, 2, 2]
    assert [src["rejected"] for src in s["sources"]] == [1, 0, 0, 0]
    assert rejects.select("row", "reason").rows() == [(4, "bad_timestamp")]
    assert s["first_timestamp"] == datetime(2024, 1, 1, 0, tzinfo=UTC)
    assert s["last_timestamp"] == datetime(2024, 1, 4, 0, tzinfo=UTC)


def test_seq_is_unique_across_sources_and_follows_input_order(four_sources) -> None:
    ev = four_sources[0].events
    assert ev["seq"].is_unique().all()
    # Sources keep their order: every seq of a later source is above those of earlier ones.
    order = ["shopping", "search", "news"]
    ranges = [ev.filter(pl.col("service") == s)["seq"] for s in order]
    for earlier, later in zip(ranges, ranges[1:], strict=False):
        assert earlier.max() < later.min()


def test_extra_columns_and_items_are_kept_as_strings(four_sources) -> None:
    ev = four_sources[0].events
    assert ev.columns[:6] == ["user_id", "timestamp", "service", "text", "item_id", "seq"]
    assert {"price", "section", "secs"} <= set(ev.columns)
    assert ev.schema["secs"] == pl.String and ev.schema["price"] == pl.String
    shop = ev.filter(pl.col("service") == "shopping")
    assert shop.select("text", "item_id", "price").rows() == [
        ("신발 | 30000 KRW", "A1", "30000"),  # item ids are stripped
        ("모자 | 1000 KRW", "B2", "1000"),
    ]
    news = ev.filter(pl.col("service") == "news")
    assert news.select("text", "section").rows() == [("뉴스 [it]", "it"), ("n2 []", None)]
    assert ev.filter(pl.col("service") == "music")["secs"].to_list() == ["200"]
    assert ev.filter(pl.col("service") == "search")["price"].null_count() == 2


def test_service_column_blank_is_rejected(tmp_path, write_config, run_ingest) -> None:
    (tmp_path / "log.csv").write_text("uid,ts,svc,title\nu1,2024-01-01,shop,a\nu2,2024-01-01, ,b\n")
    result, rejects = run_ingest(write_config({"path": "log.csv", "service_column": "svc"}))
    assert rejects.select("row", "reason", "column").rows() == [(3, "missing_service", "svc")]
    assert result.events["service"].to_list() == ["shop"]


def test_duplicates_across_sources_keep_the_first(tmp_path, write_config, run_ingest) -> None:
    row = "u1,2024-01-01T00:00:00Z,same\n"
    (tmp_path / "a.csv").write_text("uid,ts,title\n" + row + row)
    (tmp_path / "b.csv").write_text("uid,ts,title\n" + row + "u1,2024-01-01T00:00:00Z,other\n")
    result, rejects = run_ingest(write_config({"path": "a.csv"}, {"path": "b.csv"}))
    assert result.events["text"].to_list() == ["same", "other"]
    assert result.events["seq"][0] == 2  # the first occurrence survives
    dupes = rejects.filter(pl.col("reason") == "duplicate")
    assert dupes.select("source", "row").rows() == [
        (str(tmp_path / "a.csv"), 3),
        (str(tmp_path / "b.csv"), 2),
    ]
    assert [s["duplicates"] for s in result.summary["sources"]] == [1, 1]
    assert json.loads(dupes["raw"][0])["text"] == "same"


def test_same_text_in_another_service_or_item_is_not_a_duplicate(
    tmp_path, write_config, run_ingest
) -> None:
    (tmp_path / "a.csv").write_text(
        "uid,ts,title,svc,item\n"
        "u1,2024-01-01,t,s1,i1\nu1,2024-01-01,t,s2,i1\nu1,2024-01-01,t,s1,i2\nu1,2024-01-01,t,s1,\n"
    )
    result, _ = run_ingest(
        write_config({"path": "a.csv", "service_column": "svc", "item_column": "item"})
    )
    assert result.events.height == 4 and result.summary["duplicates"] == 0


def test_drop_duplicates_false_keeps_them(tmp_path, write_config, run_ingest) -> None:
    row = "u1,2024-01-01T00:00:00Z,same\n"
    (tmp_path / "a.csv").write_text("uid,ts,title\n" + row * 3)
    (tmp_path / "b.csv").write_text("uid,ts,title\n" + row)
    cfg = write_config({"path": "a.csv"}, {"path": "b.csv"}, drop_duplicates=False)
    result, rejects = run_ingest(cfg)
    assert result.events.height == 4 and rejects.height == 0
    assert result.summary["duplicates"] == 0
    assert result.events["seq"].is_unique().all()


def test_in_memory_ingest_writes_nothing(tmp_path, write_config) -> None:
    (tmp_path / "a.csv").write_text("uid,ts,title\nu1,2024-01-01,a\nu1,2024-01-01,a\n")
    cfg = load_ingest_config(write_config({"path": "a.csv"}))
    kept = ingest_sources(cfg.sources, drop_duplicates=False)
    dropped = ingest_sources(cfg.sources)
    assert (kept.events.height, dropped.events.height) == (2, 1)
    assert not (tmp_path / "out").exists()


def test_seq_unique_after_a_jsonl_with_blank_lines(tmp_path, write_config, run_ingest) -> None:
    (tmp_path / "a.jsonl").write_text(
        '\n\n\n{"uid": "u1", "ts": "2024-01-01", "title": "a"}\n'
        '{"uid": "u1", "ts": "2024-01-01", "title": "b"}\n'
    )
    (tmp_path / "b.csv").write_text("uid,ts,title\nu2,2024-01-01,c\nu2,2024-01-01,d\n")
    result, _ = run_ingest(write_config({"path": "a.jsonl"}, {"path": "b.csv"}))
    assert result.events.height == 4
    assert result.events["seq"].is_unique().all()
