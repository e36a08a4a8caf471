"""Histories: time order with stable ties, budgets keep the most recent, deterministic output."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from byod.data.schema import EVENT_SCHEMA, HISTORY_SCHEMA
from byod.data.serialize import ALL_SERVICES, SerializeConfig, serialize
from byod.errors import ByodError, ConfigError

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def events(make_event_table) -> pl.DataFrame:
    # (user, time, service, text, seq); given out of order on purpose.
    return make_event_table([
        ("u1", _h(5), "shop", "e5", 50),
        ("u1", _h(1), "shop", "a1", 90),
        ("u1", _h(3), "shop", "c3", 30),
        ("u1", _h(3), "shop", "b3", 10),  # same time as c3, smaller seq: comes first
        ("u1", _h(3), "shop", "d3", 31),
        ("u1", _h(4), "news", "x4", 40),
        ("u1", _h(2), "news", "w2", 95),
        ("u2", _h(2), "shop", "z2", 20),
        ("u10", _h(0), "shop", "q0", 1),
    ])  # fmt: skip


@pytest.fixture
def random_events() -> pl.DataFrame:
    rng = np.random.default_rng(7)
    n = 3000
    return pl.DataFrame(
        {
            "user_id": [f"u{u}" for u in rng.integers(0, 120, n)],
            "timestamp": [T0 + timedelta(minutes=int(m)) for m in rng.integers(0, 30, n)],
            "service": rng.choice(["shop", "search", "news"], n).tolist(),
            "text": [f"event {i} " + "x" * int(k) for i, k in enumerate(rng.integers(0, 20, n))],
            "item_id": [None] * n,
            "seq": rng.permutation(n).astype(np.int64),
        },
        schema=EVENT_SCHEMA,
    )


def _row(h: pl.DataFrame, user: str, service: str) -> dict:
    return h.filter((pl.col("user_id") == user) & (pl.col("service") == service)).row(0, named=True)


def test_output_schema_and_row_order(events) -> None:
    h = serialize(events)
    assert h.schema == pl.Schema(HISTORY_SCHEMA)
    assert h.select("user_id", "service").rows() == [
        ("u1", "news"),
        ("u1", "shop"),
        ("u10", "shop"),
        ("u2", "shop"),
    ]


def test_time_order_with_ties_broken_by_seq(events) -> None:
    shop = _row(serialize(events), "u1", "shop")
    assert shop["event_texts"] == ["a1", "b3", "c3", "d3", "e5"]
    assert shop["event_timestamps"] == [_h(1), _h(3), _h(3), _h(3), _h(5)]
    assert (shop["first_ts"], shop["last_ts"]) == (_h(1), _h(5))
    assert shop["n_events"] == shop["n_events_total"] == 5
    assert shop["text"] == "a1\nb3\nc3\nd3\ne5"


def test_max_events_keeps_the_most_recent(events) -> None:
    shop = _row(serialize(events, SerializeConfig(max_events=2)), "u1", "shop")
    assert shop["event_texts"] == ["d3", "e5"]
    assert (shop["n_events"], shop["n_events_total"]) == (2, 5)
    assert shop["first_ts"] == _h(3)


def test_max_chars_budget(make_event_table) -> None:
    ev = make_event_table(
        [
            ("u", _h(1), "s", "aaaa", 1),
            ("u", _h(2), "s", "bbbb", 2),
            ("u", _h(3), "s", "cccccccc", 3),
        ]
    )

    def kept(**kw) -> list[str]:
        return serialize(ev, SerializeConfig(**kw))["event_texts"][0].to_list()

    assert kept(max_chars=18) == ["aaaa", "bbbb", "cccccccc"]  # 4 + 1 + 4 + 1 + 8 = 18
    assert kept(max_chars=17) == ["bbbb", "cccccccc"]
    assert kept(max_chars=13) == ["bbbb", "cccccccc"]
    assert kept(max_chars=12) == ["cccccccc"]
    assert kept(max_chars=3) == ["ccc"]  # the most recent event always stays, cut
    assert kept(max_chars=15, separator=" || ") == ["cccccccc"]  # separators count
    assert kept(max_chars=100, max_events=1) == ["cccccccc"]  # both budgets apply
    h = serialize(ev, SerializeConfig(max_chars=3))
    assert h["n_events"][0] == 1 and h["n_events_total"][0] == 3


def test_budget_properties_over_random_events(random_events) -> None:
    full = serialize(random_events, SerializeConfig(max_events=None))
    for cfg in (SerializeConfig(max_events=5), SerializeConfig(max_chars=60, max_events=None),
                SerializeConfig(max_chars=40, max_events=3, separator=" | ")):  # fmt: skip
        h = serialize(random_events, cfg)
        assert h.select("user_id", "service").equals(full.select("user_id", "service"))
        assert (h["n_events_total"] == full["n_events"]).all()
        for cut, whole in zip(h.iter_rows(named=True), full.iter_rows(named=True), strict=True):
            texts = cut["event_texts"]
            assert 1 <= len(texts) <= (cfg.max_events or len(texts))
            assert cut["text"] == cfg.separator.join(texts)
            if cfg.max_chars:
                assert len(cut["text"]) <= cfg.max_chars
                assert whole["event_texts"][-1].startswith(texts[-1])
                if len(texts) > 1:  # earlier events are whole, and a suffix of the full history
                    assert texts[:-1] == whole["event_texts"][-len(texts) : -1]
            else:
                assert texts == whole["event_texts"][-len(texts) :]
            assert cut["last_ts"] == whole["last_ts"]


def test_time_window(events) -> None:
    cfg = SerializeConfig(start=_h(2), end=_h(5))  # [start, end)
    h = serialize(events, cfg)
    assert _row(h, "u1", "shop")["event_texts"] == ["b3", "c3", "d3"]
    assert _row(h, "u1", "news")["event_texts"] == ["w2", "x4"]
    assert h.select("user_id", "service").rows() == [("u1", "news"), ("u1", "shop"), ("u2", "shop")]
    assert serialize(events, SerializeConfig(start=_h(3)))["user_id"].to_list() == ["u1", "u1"]
    assert serialize(events, SerializeConfig(end=_h(1)))["user_id"].to_list() == ["u10"]


def test_time_window_naive_means_utc_and_aware_is_converted(events) -> None:
    naive = serialize(events, SerializeConfig(start=datetime(2024, 1, 1, 3)))
    seoul = serialize(events, SerializeConfig(start=datetime(2024, 1, 1, 12, tzinfo=ZoneInfo("Asia/Seoul"))))  # fmt: skip
    utc = serialize(events, SerializeConfig(start=_h(3)))
    assert naive.equals(utc) and seoul.equals(utc)


def test_window_that_excludes_everything_gives_an_empty_table(events) -> None:
    h = serialize(events, SerializeConfig(start=_h(100)))
    assert h.height == 0 and h.schema == pl.Schema(HISTORY_SCHEMA)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("date", "[2024-01-01] a1"), ("datetime", "[2024-01-01 01:00] a1"), ("none", "a1")],
)
def test_time_prefix(events, prefix, expected) -> None:
    shop = _row(serialize(events, SerializeConfig(time_prefix=prefix)), "u1", "shop")
    assert shop["event_texts"][0] == expected
    assert shop["text"].split("\n")[0] == expected


def test_by_service_false_merges_all_services(events) -> None:
    h = serialize(events, SerializeConfig(by_service=False))
    assert set(h["service"]) == {ALL_SERVICES}
    assert h["user_id"].to_list() == ["u1", "u10", "u2"]
    u1 = h.row(0, named=True)
    assert u1["event_texts"] == ["a1", "w2", "b3", "c3", "d3", "x4", "e5"]
    assert u1["n_events_total"] == 7


def test_separator(events) -> None:
    shop = _row(serialize(events, SerializeConfig(separator=" · ")), "u1", "shop")
    assert shop["text"] == " · ".join(shop["event_texts"])


def test_deterministic_and_independent_of_row_order(random_events) -> None:
    cfg = SerializeConfig(max_events=7, time_prefix="datetime")
    first = serialize(random_events, cfg)
    assert serialize(random_events, cfg).equals(first)
    for seed in range(3):
        shuffled = random_events.sample(fraction=1.0, shuffle=True, seed=seed)
        assert serialize(shuffled, cfg).equals(first)
    budget = SerializeConfig(max_chars=50)
    assert serialize(random_events.reverse(), budget).equals(serialize(random_events, budget))


def test_same_bytes_on_disk(tmp_path, random_events) -> None:
    from byod.atomic import write_parquet

    a = write_parquet(serialize(random_events), tmp_path / "a.parquet")
    b = write_parquet(serialize(random_events.reverse()), tmp_path / "b.parquet")
    assert a.read_bytes() == b.read_bytes()


def test_extra_columns_do_not_leak_into_histories(events) -> None:
    h = serialize(events.with_columns(secret=pl.lit("x")))
    assert list(h.columns) == list(HISTORY_SCHEMA)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_events": 0},
        {"max_chars": -1},
        {"time_prefix": "week"},
        {"start": datetime(2024, 1, 2), "end": datetime(2024, 1, 1)},
        {"start": datetime(2024, 1, 1), "end": datetime(2024, 1, 1)},
    ],
)
def test_bad_settings_are_config_errors(kwargs) -> None:
    with pytest.raises(ConfigError):
        SerializeConfig(**kwargs)


def test_not_an_events_table(events) -> None:
    with pytest.raises(ByodError, match="missing column"):
        serialize(events.drop("seq"))
    with pytest.raises(ByodError, match="null"):
        serialize(events.with_columns(text=pl.lit(None, pl.String)))


def test_naive_start_with_aware_end() -> None:
    cfg = SerializeConfig(start=datetime(2024, 1, 1), end=datetime(2024, 1, 2, tzinfo=UTC))
    assert cfg.start < cfg.end.replace(tzinfo=None)
    # A naive bound is UTC: 09:00 UTC is after 09:00 in Seoul (00:00 UTC), so this is empty.
    with pytest.raises(ConfigError, match="must be before end"):
        SerializeConfig(
            start=datetime(2024, 1, 1, 9),
            end=datetime(2024, 1, 1, 9, tzinfo=ZoneInfo("Asia/Seoul")),
        )
