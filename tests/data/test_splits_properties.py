"""Split properties over random events with many timestamp ties: a history holds exactly the events
ordered before its split point by (timestamp, seq); targets are the last events in that order."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from byod.data.schema import EVENT_SCHEMA
from byod.data.splits import leave_one_out, time_cut
from byod.errors import ByodError

T0 = datetime(2024, 1, 1, tzinfo=UTC)
N_USERS = 400


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    rng = np.random.default_rng(20240101)
    counts = rng.integers(1, 25, N_USERS)  # includes users with 1 and 2 events
    users = np.repeat(np.arange(N_USERS), counts)
    n = users.size
    return pl.DataFrame(
        {
            "user_id": [f"u{u}" for u in users],
            # 12 distinct minutes: most users have several events sharing a timestamp.
            "timestamp": [T0 + timedelta(minutes=int(m)) for m in rng.integers(0, 12, n)],
            "service": rng.choice(["shop", "search", "news"], n, p=[0.5, 0.3, 0.2]).tolist(),
            "text": [f"t{i}" for i in range(n)],
            "item_id": [None] * n,
            "seq": rng.permutation(n).astype(np.int64) + 100,
        },
        schema=EVENT_SCHEMA,
    ).sample(fraction=1.0, shuffle=True, seed=1)


def _by_user(df: pl.DataFrame) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in df.sort("user_id", "timestamp", "seq").iter_rows(named=True):
        out.setdefault(row["user_id"], []).append(row)
    return out


def test_there_are_many_ties(events) -> None:
    ties = events.group_by("user_id", "timestamp").len().filter(pl.col("len") > 1)
    assert ties["user_id"].n_unique() > N_USERS / 2
    assert (events.group_by("user_id").len()["len"] < 3).sum() >= 10


def test_leave_one_out_targets_and_histories(events) -> None:
    split = leave_one_out(events)
    per_user = _by_user(events)
    test = {r["user_id"]: r for r in split.test.iter_rows(named=True)}
    valid = {r["user_id"]: r for r in split.valid.iter_rows(named=True)}
    history = _by_user(split.history)
    eligible = {u for u, rows in per_user.items() if len(rows) >= 3}
    assert set(test) == set(valid) == eligible
    for user, rows in per_user.items():
        seqs = [r["seq"] for r in history.get(user, [])]
        if user not in eligible:  # too few events: everything stays in history, no target
            assert seqs == [r["seq"] for r in rows]
            continue
        assert test[user]["seq"] == rows[-1]["seq"]  # last by (timestamp, seq)
        assert valid[user]["seq"] == rows[-2]["seq"]  # second last
        # Exactly the events ordered before the validation event: none at or after it, none lost.
        assert seqs == [r["seq"] for r in rows[:-2]]
    assert split.test.columns == events.columns and split.history.columns == events.columns
    assert split.history.sort("user_id", "timestamp", "seq").equals(split.history)


def test_history_for_a_target(events) -> None:
    split = leave_one_out(events)
    per_user = _by_user(events)
    for target, frame, keep in (("test", split.test, -1), ("valid", split.valid, -2)):
        before = _by_user(split.history_for(events, target))
        assert set(before) <= set(frame["user_id"])
        for user in frame["user_id"]:
            expected = [r["seq"] for r in per_user[user][:keep]]
            assert [r["seq"] for r in before.get(user, [])] == expected
    # The test history never holds the test event, even when others share its timestamp.
    test_seqs = set(split.test["seq"])
    assert not test_seqs & set(split.history_for(events, "test")["seq"])


def test_service_picks_targets_from_one_service(events) -> None:
    split = leave_one_out(events, service="search")
    assert set(split.test["service"]) == set(split.valid["service"]) == {"search"}
    search = _by_user(events.filter(pl.col("service") == "search"))
    eligible = {u for u, rows in search.items() if len(rows) >= 3}
    assert set(split.test["user_id"]) == eligible
    for row in split.test.iter_rows(named=True):
        assert row["seq"] == search[row["user_id"]][-1]["seq"]
    for row in split.valid.iter_rows(named=True):
        assert row["seq"] == search[row["user_id"]][-2]["seq"]
    # The history keeps other services' earlier events (cross-service), cut at the valid event.
    cut = {r["user_id"]: (r["timestamp"], r["seq"]) for r in split.valid.iter_rows(named=True)}
    hist = split.history.filter(pl.col("user_id").is_in(list(cut)))
    assert all((r["timestamp"], r["seq"]) < cut[r["user_id"]] for r in hist.iter_rows(named=True))
    every = events.filter(pl.col("user_id").is_in(list(cut)))
    expected = [r["seq"] for r in every.iter_rows(named=True)
                if (r["timestamp"], r["seq"]) < cut[r["user_id"]]]  # fmt: skip
    assert sorted(hist["seq"]) == sorted(expected)
    assert set(hist["service"]) == {"shop", "search", "news"}
    # Users without enough search events keep every event.
    others = events.filter(~pl.col("user_id").is_in(list(eligible)))
    assert sorted(split.history.filter(~pl.col("user_id").is_in(list(eligible)))["seq"]) == sorted(
        others["seq"]
    )


def test_min_events(events) -> None:
    split = leave_one_out(events, min_events=10)
    counts = events.group_by("user_id").len()
    assert split.test.height == counts.filter(pl.col("len") >= 10).height
    with pytest.raises(ByodError, match="at least 3"):
        leave_one_out(events, min_events=2)
    with pytest.raises(ByodError, match="no events to split in service 'video'"):
        leave_one_out(events, service="video")


def test_all_tied_user(make_event_table) -> None:
    ev = make_event_table([("u", T0, "s", f"t{i}", 10 - i) for i in range(4)])
    split = leave_one_out(ev)
    assert split.test["text"].to_list() == ["t0"]  # largest seq
    assert split.valid["text"].to_list() == ["t1"]
    # Every event shares the split time: seq alone orders them (t3, t2 | t1 valid | t0 test).
    assert split.history["text"].to_list() == ["t3", "t2"]
    assert split.history_for(ev, "test")["text"].to_list() == ["t3", "t2", "t1"]


@pytest.mark.parametrize("horizon", [None, timedelta(minutes=3)])
def test_time_cut(events, horizon) -> None:
    cut = T0 + timedelta(minutes=6)
    t = time_cut(events, cut, horizon=horizon)
    assert t.cut == cut
    assert t.history["timestamp"].max() < cut
    assert t.future["timestamp"].min() >= cut
    later = events.filter(pl.col("timestamp") >= cut)
    if horizon is None:
        assert t.history.height + t.future.height == events.height
        assert sorted(t.future["seq"]) == sorted(later["seq"])
    else:
        assert t.future["timestamp"].max() < cut + horizon
        assert sorted(t.future["seq"]) == sorted(
            later.filter(pl.col("timestamp") < cut + horizon)["seq"]
        )
    assert sorted(t.history["seq"]) == sorted(events.filter(pl.col("timestamp") < cut)["seq"])
    assert t.history.sort("user_id", "timestamp", "seq").equals(t.history)


def test_time_cut_naive_is_utc_and_aware_is_converted(events) -> None:
    utc = time_cut(events, T0 + timedelta(minutes=6))
    naive = time_cut(events, datetime(2024, 1, 1, 0, 6))
    seoul = time_cut(events, datetime(2024, 1, 1, 9, 6, tzinfo=ZoneInfo("Asia/Seoul")))
    assert naive.history.equals(utc.history) and seoul.history.equals(utc.history)
    assert seoul.future.equals(utc.future)
