import math

import numpy as np
from synthetic_run import (
    RATING_PATTERN,
    features_frame,
    groups,
    histories_frame,
    labels_frame,
    user_ids,
)

from byod.report.clusters import (
    class_tfidf,
    cluster_documents,
    cluster_table,
    cluster_users,
    top_words,
)
from byod.report.labels import user_labels


def test_class_tfidf_matches_the_formula() -> None:
    scores, words = class_tfidf(
        ["apple apple banana", "banana cherry"], reduce_frequent_words=False
    )
    assert words.tolist() == ["apple", "banana", "cherry"]
    # words per doc 3 and 2 (mean 2.5); totals apple 2, banana 2, cherry 1
    expected = np.array(
        [
            [2 / 3 * math.log(1 + 2.5 / 2), 1 / 3 * math.log(1 + 2.5 / 2), 0.0],
            [0.0, 1 / 2 * math.log(1 + 2.5 / 2), 1 / 2 * math.log(1 + 2.5 / 1)],
        ]
    )
    np.testing.assert_allclose(scores, expected)
    assert top_words(scores, words, n=2) == [["apple", "banana"], ["cherry", "banana"]]
    reduced, _ = class_tfidf(["apple apple banana", "banana cherry"])
    np.testing.assert_allclose(reduced[0, 0], math.sqrt(2 / 3) * math.log(1 + 2.5 / 2))


def test_class_tfidf_drops_numbers_stop_words_and_survives_empty_docs() -> None:
    scores, words = class_tfidf(["The Matrix 1999 2001 of", ""])
    assert words.tolist() == ["matrix"]
    assert top_words(scores, words) == [["matrix"], []]
    scores, words = class_tfidf(["the 1999", ""])
    assert scores.shape == (2, 0) and top_words(scores, words) == [[], []]


def test_clusters_are_the_planted_groups_numbered_by_size() -> None:
    v = features_frame()["vector"].to_numpy()
    assignment = cluster_users(v, 3, seed=0)
    np.testing.assert_array_equal(assignment, groups())  # sizes 60, 40, 20
    assert cluster_users(v[:2], 8).max() == 1  # k is capped at the number of users


def test_planted_word_ranks_first_for_its_cluster() -> None:
    assignment = cluster_users(features_frame()["vector"].to_numpy(), 3, seed=0)
    whole = cluster_documents(histories_frame(), user_ids(), assignment, 3)
    assert "Zorblax (1999) | Drama | rated 5/5" in whole[2]  # no pattern: texts kept whole
    docs = cluster_documents(
        histories_frame(), user_ids(), assignment, 3, strip_pattern=RATING_PATTERN
    )
    assert "rated" not in docs[2] and "Zorblax (1999) | Drama" in docs[2]
    words = top_words(*class_tfidf(docs), n=8)
    # "drama" is shared with cluster 2, the "Toy Story" words with every cluster
    assert words[2][:2] == ["zorblax", "drama"]
    assert words[1][:3] == ["romance", "sense", "sensibility"]
    assert words[0][:1] in (["heat"], ["action"], ["crime"], ["thriller"])
    every = {w for ws in words for w in ws}
    assert not every & {"rated", "1995", "1999", "the", "and"}
    assert not any(w.isdigit() for w in every)


def test_cluster_table_shows_the_top_label_of_every_column() -> None:
    labels = user_labels(labels_frame(), user_ids())
    assert labels.tasks == ["gender", "age", "occupation"]
    table = cluster_table(groups(), labels, [["a", "b"], [], ["zorblax"]])
    assert table.header == ["cluster", "users", "top gender", "top age", "top occupation",
                            "distinctive words (c-TF-IDF)"]  # fmt: skip
    first, second, third = table.rows
    # group 0: 60 users, all F; ages cycle 18-24, 25-34, 35-44, 56+ (25% each, ties by name)
    assert first == ["1", "60 (50%)", "F (100%)", "18-24 (25%)", "writer (100%)", "a, b"]
    assert second[:3] == ["2", "40 (33%)", "F (50%)"] and second[4:] == ["programmer (100%)", "–"]
    assert third[-1] == "zorblax"


def test_cluster_table_without_labels_has_sizes_and_words_only() -> None:
    table = cluster_table(groups(), user_labels(None, user_ids()), [["a"], [], []])
    assert table.header == ["cluster", "users", "distinctive words (c-TF-IDF)"]
    assert table.rows[0] == ["1", "60 (50%)", "a"] and "top label" not in table.caption
    bare = cluster_table(groups(), user_labels(None, user_ids()), None)
    assert bare.rows[0] == ["1", "60 (50%)"]


def test_user_labels_follow_the_run_order_and_skip_absent_tasks() -> None:
    labels = labels_frame()
    chosen = user_labels(labels, user_ids()[:4], ["occupation", "height", "gender"])
    assert chosen.tasks == ["occupation", "gender"]
    assert chosen.columns["gender"].tolist() == ["F", "F", "F", "F"]
    unknown = user_labels(labels, ["nobody"])
    assert [v.tolist() for v in unknown.columns.values()] == [[None], [None], [None]]
    assert user_labels(labels, user_ids()).top("age", 2) == ["18-24", "25-34"]
