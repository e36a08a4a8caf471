from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from byod.data.schema import INTERACTION_SCHEMA
from byod.transfer.baselines import cooccurrence, popularity
from byod.transfer.nextitem import evaluate_scores, events_before_targets, next_item_task

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def interactions(rows):
    """rows: (user, item, second, seq)."""
    return pl.DataFrame(
        [
            {"user_id": u, "item_id": i, "item_text": f"movie {i}",
             "timestamp": T0 + timedelta(seconds=s), "seq": q}
            for u, i, s, q in rows
        ],
        schema=INTERACTION_SCHEMA,
    )  # fmt: skip


def many_items(n_users=6, n_items=140, seed=0):
    rng = np.random.default_rng(seed)
    rows, seq = [], 0
    for u in range(n_users):
        for k, item in enumerate(rng.choice(n_items, 8, replace=False)):
            seq += 1
            rows.append((f"u{u}", f"i{item:03d}", k // 2, seq))  # pairs share a second
    extra = [(f"z{i}", f"i{i:03d}", 0, 10_000 + i) for i in range(n_items)]  # every item exists
    return interactions(rows + extra)


def test_same_second_events_are_ordered_by_seq():
    task = next_item_task(
        interactions([("u", "a", 0, 1), ("u", "b", 5, 3), ("u", "c", 5, 2), ("u", "d", 1, 4)]),
        n_negatives=0,
    )
    roles = dict(zip(task.ordered["item_id"], task.ordered["role"], strict=True))
    assert roles == {"a": "history", "d": "train-1", "c": "valid", "b": "test"}


def test_negatives_are_never_items_the_user_touched():
    task = next_item_task(many_items(), n_negatives=100, seed=3)
    assert task.negatives.shape == (len(task.test_users), 100)
    touched = (
        task.ordered.group_by("user_id").agg(pl.col("index")).sort("user_id")
        .filter(pl.col("user_id").is_in(task.test_users))
    )  # fmt: skip
    for row, items in zip(task.negatives, touched["index"], strict=True):
        assert not set(row) & set(items.to_list())
        assert len(set(row)) == 100
    again = next_item_task(many_items(), n_negatives=100, seed=3)
    np.testing.assert_array_equal(task.negatives, again.negatives)


def test_events_before_targets_is_strict_in_time_then_seq():
    events = pl.DataFrame(
        {"user_id": ["u"] * 3, "timestamp": [T0, T0, T0 + timedelta(seconds=1)],
         "seq": [1, 2, 3], "text": ["x", "y", "z"]}
    )  # fmt: skip
    targets = pl.DataFrame({"user_id": ["u"], "timestamp": [T0], "seq": [2]})
    assert events_before_targets(events, targets)["text"].to_list() == ["x"]


def test_perfect_scores_hit_everything_and_baselines_run():
    task = next_item_task(many_items(), n_negatives=100)
    scores = np.zeros((len(task.test_users), task.items.height), dtype=np.float32)
    scores[np.arange(len(task.test_users)), task.test["index"].to_numpy()] = 1.0
    res = evaluate_scores(task, scores, "oracle")
    assert (res["value"].filter(res["metric"] != "mrr") == 1.0).all()
    assert set(res["protocol"]) == {"sampled-100", "full"}
    assert {"all", "cold"} <= set(res["segment"])
    for baseline in (popularity, cooccurrence):
        out = evaluate_scores(task, baseline(task), "b")
        assert out["value"].is_between(0, 1).all()


def test_cooccurrence_counts_what_followed_the_last_item():
    # a and b: x then y early in their history; d's last item before its test is x
    rows = [("a", "x", 0, 1), ("a", "y", 1, 2), ("a", "p", 2, 3), ("a", "q", 3, 4),
            ("b", "x", 0, 5), ("b", "y", 1, 6), ("b", "p", 2, 7), ("b", "q", 3, 8),
            ("d", "m", 0, 9), ("d", "n", 1, 10), ("d", "x", 2, 11), ("d", "y", 3, 12)]  # fmt: skip
    task = next_item_task(interactions(rows), n_negatives=0)
    scores = cooccurrence(task, popularity_tiebreak=False)
    index = dict(zip(task.items["item_id"], task.items["index"], strict=True))
    d = task.test_users.index("d")
    assert scores[d, index["y"]] == 2  # x -> y twice in the training history
    assert scores[d].sum() == 2
    # p -> q happens only in validation -> test pairs, which the history never counts
    assert scores[task.test_users.index("a"), index["q"]] == 0
    tiebroken = cooccurrence(task)
    assert tiebroken[d].argmax() == index["y"]
    assert (tiebroken[d] < 2.5).all()  # the popularity term stays below one co-occurrence


def test_previous_items_follow_the_target_order():
    rows = [("a", "x", 0, 1), ("a", "y", 1, 2), ("a", "p", 2, 3), ("a", "q", 3, 4),
            ("b", "m", 0, 5), ("b", "n", 0, 6), ("b", "o", 1, 7)]  # fmt: skip
    task = next_item_task(interactions(rows), n_negatives=0)
    index = dict(zip(task.items["item_id"], task.items["index"], strict=True))
    test = task.test  # users a, b: previous items p and n
    assert task.previous_items(test).tolist() == [index["p"], index["n"]]
    valid = task.role("valid").reverse()  # any row order is kept
    assert task.previous_items(valid).tolist() == [index["m"], index["y"]]


def test_ties_are_broken_by_seq_identically_in_both_paths():
    """data.splits and the next-item protocol share one cutoff rule and one leave-one-out."""
    from byod.data.schema import EVENT_SCHEMA
    from byod.data.splits import events_before, leave_one_out

    rng = np.random.default_rng(7)
    n = 600
    users = rng.integers(0, 40, n)
    events = pl.DataFrame(
        {"user_id": [f"u{u}" for u in users],
         "timestamp": [T0 + timedelta(seconds=int(s)) for s in rng.integers(0, 4, n)],  # ties
         "service": ["s"] * n, "text": [f"t{i}" for i in range(n)],
         "item_id": [f"i{i}" for i in range(n)], "seq": rng.permutation(n).astype(np.int64)},
        schema=EVENT_SCHEMA,
    )  # fmt: skip
    inter = events.select("user_id", "item_id", item_text="text", timestamp="timestamp", seq="seq")
    task = next_item_task(inter, n_negatives=0)
    split = leave_one_out(events)
    for role, frame in (("test", split.test), ("valid", split.valid)):
        assert (
            task.role(role)
            .select("user_id", "seq")
            .equals(frame.sort("user_id").select("user_id", "seq"))
        )
    assert events_before_targets is events_before
    valid_cut = task.role("valid").select("user_id", "timestamp", "seq")
    assert events_before_targets(events, valid_cut).equals(split.history)
    test_cut = task.test.select("user_id", "timestamp", "seq")
    assert events_before_targets(events, test_cut).equals(split.history_for(events, "test"))


def test_subset_evaluates_some_users_with_the_whole_history():
    task = next_item_task(many_items(), n_negatives=100, seed=1)
    users = task.test_users[1:4]
    sub = task.subset(list(reversed(users)))
    assert sub.test_users == users and sub.test["user_id"].to_list() == users
    rows = [task.test_users.index(u) for u in users]
    np.testing.assert_array_equal(sub.negatives, task.negatives[rows])
    np.testing.assert_array_equal(popularity(sub), popularity(task)[rows])  # same history
    np.testing.assert_array_equal(cooccurrence(sub), cooccurrence(task)[rows])
    full = evaluate_scores(task, popularity(task), "p")
    part = evaluate_scores(sub, popularity(sub), "p")
    assert set(part["n_users"]) <= {1, 2, 3} and full["n_users"].max() == len(task.test_users)


def test_previous_items_of_the_task_match_the_target_order():
    rows = [("a", "x", 0, 1), ("a", "y", 1, 2), ("a", "p", 2, 3), ("a", "q", 3, 4),
            ("b", "m", 0, 5), ("b", "n", 0, 6), ("b", "o", 1, 7)]  # fmt: skip
    task = next_item_task(interactions(rows), n_negatives=0)
    index = dict(zip(task.items["item_id"], task.items["index"], strict=True))
    assert task.previous_items(task.test).tolist() == [index["p"], index["n"]]
    assert task.previous_items(task.role("valid").reverse()).tolist() == [index["m"], index["y"]]


def test_a_repeated_item_as_the_test_target_is_still_ranked():
    # u buys x again as its last item: x was seen before the test, yet it is the truth.
    rows = [("u", "x", 0, 1), ("u", "y", 1, 2), ("u", "z", 2, 3), ("u", "x", 3, 4),
            ("v", "y", 0, 5), ("v", "z", 1, 6), ("v", "w", 2, 7)]  # fmt: skip
    task = next_item_task(interactions(rows), n_negatives=0)
    index = dict(zip(task.items["item_id"], task.items["index"], strict=True))
    scores = np.zeros((2, task.items.height), dtype=np.float32)
    scores[task.test_users.index("u"), index["x"]] = 1.0
    scores[task.test_users.index("v"), index["w"]] = 1.0
    full = evaluate_scores(task, scores, "s").filter(pl.col("protocol") == "full")
    assert full.filter((pl.col("segment") == "all") & (pl.col("metric") == "mrr"))["value"][0] == 1
