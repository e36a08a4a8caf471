import numpy as np
import polars as pl

from byod.features.bag import count_matrix, user_item_matrix


def test_user_item_matrix_counts_repeats_and_follows_the_given_orders() -> None:
    events = pl.DataFrame(
        {"user_id": ["b", "a", "b", "b", "c"], "item_id": ["x", "y", "x", None, "z"]}
    )
    counts, items = user_item_matrix(events, ["a", "b", "nobody"])
    assert items == ["x", "y"]  # first appearance among these users; c's z is not theirs
    np.testing.assert_array_equal(counts.toarray(), [[0, 1], [2, 0], [0, 0]])
    fixed, same = user_item_matrix(events, ["c", "b"], items=["z", "unseen", "x"])
    assert same == ["z", "unseen", "x"]
    np.testing.assert_array_equal(fixed.toarray(), [[1, 0, 0], [0, 0, 2]])


def test_count_matrix_adds_up_pairs() -> None:
    m = count_matrix(np.array([0, 0, 1]), np.array([2, 2, 0]), (2, 3))
    assert m.dtype == np.float32
    np.testing.assert_array_equal(m.toarray(), [[0, 0, 2], [1, 0, 0]])
