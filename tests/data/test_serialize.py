from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from byod.data.schema import EVENT_SCHEMA, HISTORY_SCHEMA
from byod.data.serialize import ALL_SERVICES, SerializeConfig, serialize
from byod.errors import ConfigError

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _events(rows: list[tuple]) -> pl.DataFrame:
    """Rows of (user, hours after T0, service, text, seq)."""
    return pl.DataFrame(
        [{"user_id": u, "timestamp": T0 + timedelta(hours=h), "service": s, "text": t,
          "item_id": None, "seq": q} for u, h, s, t, q in rows],
        schema=EVENT_SCHEMA,
    )  # fmt: skip


EVENTS = _events([
    ("u1", 5, "shop", "e", 5), ("u1", 1, "shop", "a", 9), ("u1", 3, "shop", "c", 2),
    ("u1", 3, "shop", "b", 1),  # same time as "c": the smaller seq comes first
    ("u1", 4, "news", "x", 4), ("u2", 2, "shop", "z", 3),
])  # fmt: skip


def test_time_order_with_stable_ties_and_schema() -> None:
    h = serialize(EVENTS)
    assert h.schema == pl.Schema(HISTORY_SCHEMA)
    shop = h.filter((pl.col("user_id") == "u1") & (pl.col("service") == "shop")).row(0, named=True)
    assert shop["event_texts"] == ["a", "b", "c", "e"]
    assert shop["text"] == "a\nb\nc\ne"
    assert (shop["n_events"], shop["first_ts"], shop["last_ts"]) == (
        4,
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=5),
    )
    assert h.select("user_id", "service").rows() == [("u1", "news"), ("u1", "shop"), ("u2", "shop")]


def test_budgets_keep_the_most_recent() -> None:
    h = serialize(EVENTS, SerializeConfig(max_events=2))
    shop = h.filter((pl.col("user_id") == "u1") & (pl.col("service") == "shop")).row(0, named=True)
    assert shop["event_texts"] == ["c", "e"] and shop["n_events_total"] == 4
    long = _events(
        [("u", 1, "s", "aaaa", 1), ("u", 2, "s", "bbbb", 2), ("u", 3, "s", "cccccccc", 3)]
    )
    assert serialize(long, SerializeConfig(max_chars=13))["event_texts"][0].to_list() == [
        "bbbb",
        "cccccccc",
    ]
    cut = serialize(long, SerializeConfig(max_chars=3))["event_texts"][0].to_list()
    assert cut == ["ccc"]  # the last event always stays, cut to the budget


def test_window_prefix_merge_and_determinism() -> None:
    cfg = SerializeConfig(
        start=T0 + timedelta(hours=2), end=T0 + timedelta(hours=5), time_prefix="date"
    )
    h = serialize(EVENTS, cfg)
    u1 = h.filter((pl.col("user_id") == "u1") & (pl.col("service") == "shop"))["event_texts"][
        0
    ].to_list()
    assert u1 == ["[2024-01-01] b", "[2024-01-01] c"]
    merged = serialize(EVENTS, SerializeConfig(by_service=False))
    assert set(merged["service"]) == {ALL_SERVICES}
    assert merged.filter(pl.col("user_id") == "u1")["event_texts"][0].to_list() == [
        "a",
        "b",
        "c",
        "x",
        "e",
    ]
    shuffled = EVENTS.sample(fraction=1.0, shuffle=True, seed=3)
    assert serialize(shuffled).equals(serialize(EVENTS))


def test_bad_settings() -> None:
    with pytest.raises(ConfigError):
        SerializeConfig(max_events=0)
    with pytest.raises(ConfigError):
        SerializeConfig(time_prefix="week")
