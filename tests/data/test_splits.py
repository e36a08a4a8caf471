"""No history ever holds its split point or anything after it by (timestamp, seq) (many ties)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from byod.data.schema import EVENT_SCHEMA
from byod.data.splits import events_before, leave_one_out, time_cut
from byod.errors import ByodError

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    n = 6000
    users = rng.integers(0, 300, n)
    return pl.DataFrame(
        {
            "user_id": [f"u{u}" for u in users],
            # few distinct times per user: ties everywhere, as in MovieLens
            "timestamp": [T0 + timedelta(minutes=int(m)) for m in rng.integers(0, 40, n)],
            "service": rng.choice(["a", "b"], n).tolist(),
            "text": [f"t{i}" for i in range(n)],
            "item_id": [None] * n,
            "seq": rng.permutation(n).astype(np.int64),
        },
        schema=EVENT_SCHEMA,
    )


def _ordered_before(history: pl.DataFrame, targets: pl.DataFrame) -> bool:
    """Every history event comes before its user's target by (timestamp, seq)."""
    cut = history.join(targets.select("user_id", _t="timestamp", _s="seq"), on="user_id")
    before = (pl.col("timestamp") < pl.col("_t")) | (
        (pl.col("timestamp") == pl.col("_t")) & (pl.col("seq") < pl.col("_s"))
    )
    return cut.height == history.height and cut.select(before.all()).item()


def test_leave_one_out_targets_and_no_leak(events) -> None:
    s = leave_one_out(events)
    ordered = events.sort("user_id", "timestamp", "seq")
    last = ordered.group_by("user_id").agg(pl.all().last())
    second = ordered.group_by("user_id").agg(pl.all().get(pl.len() - 2))
    test = s.test.join(last, on="user_id", suffix="_x")
    assert (test["seq"] == test["seq_x"]).all()
    valid = s.valid.join(second, on="user_id", suffix="_x")
    assert (valid["seq"] == valid["seq_x"]).all()
    assert _ordered_before(s.history, s.valid)
    assert _ordered_before(s.history_for(events, "test"), s.test)
    assert not s.history.join(s.test, on="seq", how="inner").height
    assert not s.history.join(s.valid, on="seq", how="inner").height


def test_small_users_keep_everything_and_get_no_target() -> None:
    ev = pl.DataFrame(
        {"user_id": ["a", "a", "b", "b", "b"], "timestamp": [T0 + timedelta(hours=h) for h in (1, 2, 1, 2, 3)],
         "service": ["s"] * 5, "text": list("vwxyz"), "item_id": [None] * 5, "seq": [1, 2, 3, 4, 5]},
        schema=EVENT_SCHEMA,
    )  # fmt: skip
    s = leave_one_out(ev)
    assert s.test["user_id"].to_list() == ["b"]
    assert sorted(s.history["text"].to_list()) == ["v", "w", "x"]


def test_service_targets_keep_other_services_in_history(events) -> None:
    s = leave_one_out(events, service="a")
    assert set(s.test["service"]) == {"a"} and set(s.valid["service"]) == {"a"}
    assert set(s.history["service"]) == {"a", "b"}
    eligible = s.history.filter(pl.col("user_id").is_in(s.valid["user_id"].implode()))
    assert _ordered_before(eligible, s.valid)


def test_time_cut_and_horizon(events) -> None:
    cut = T0 + timedelta(minutes=20)
    t = time_cut(events, cut, horizon=timedelta(minutes=10))
    assert (t.history["timestamp"] < cut).all()
    assert (
        (t.future["timestamp"] >= cut) & (t.future["timestamp"] < cut + timedelta(minutes=10))
    ).all()
    assert (
        t.history.height
        + t.future.height
        + events.filter(pl.col("timestamp") >= cut + timedelta(minutes=10)).height
        == events.height
    )


def test_events_before_requires_one_cutoff_per_user(events) -> None:
    with pytest.raises(ByodError, match="one row per user_id"):
        events_before(events, pl.DataFrame({"user_id": ["u1", "u1"], "timestamp": [T0, T0]}))


def test_events_before_cuts_by_time_then_seq_or_by_time_alone(make_event_table) -> None:
    ev = make_event_table([("u", T0, "s", "a", 5), ("u", T0, "s", "b", 7),
                           ("u", T0 + timedelta(minutes=1), "s", "c", 1)])  # fmt: skip
    at = pl.DataFrame({"user_id": ["u"], "timestamp": [T0], "seq": [7]})
    assert events_before(ev, at)["text"].to_list() == ["a"]  # tied in time, earlier in seq
    assert events_before(ev, at.drop("seq")).height == 0  # a bare time: nothing at that time
    assert events_before(ev, at.with_columns(seq=None)).height == 0
