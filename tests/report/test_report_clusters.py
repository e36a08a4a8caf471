import math

import numpy as np
import pytest
from synthetic_run import features_frame, groups, histories_frame, labels_frame, user_ids

from byod.report.clusters import (
    class_tfidf,
    cluster_documents,
    cluster_table,
    cluster_users,
    top_words,
)
from byod.report.demographics import age_group, demographics, is_woman


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
    docs = cluster_documents(histories_frame(), user_ids(), assignment, 3)
    assert "rated" not in docs[2] and "Zorblax (1999) | Drama" in docs[2]
    words = top_words(*class_tfidf(docs), n=8)
    # "drama" is shared with cluster 2, the "Toy Story" words with every cluster
    assert words[2][:2] == ["zorblax", "drama"]
    assert words[1][:3] == ["romance", "sense", "sensibility"]
    assert words[0][:1] in (["heat"], ["action"], ["crime"], ["thriller"])
    every = {w for ws in words for w in ws}
    assert not every & {"rated", "1995", "1999", "the", "and"}
    assert not any(w.isdigit() for w in every)


def test_age_groups_and_gender() -> None:
    assert [age_group(a) for a in ["under 18", "18-24", "25-34", "35-44", "45-49", "56+"]] == [
        "<25", "<25", "25-44", "25-44", "45+", "45+",
    ]  # fmt: skip
    assert age_group("unknown") is None and age_group(None) is None and age_group("30") == "25-44"
    assert [is_woman(x) for x in ["F", "male", "x", None]] == [True, False, None, None]


def test_cluster_table_shares(tmp_path) -> None:
    demo = demographics(labels_frame(), user_ids())
    table = cluster_table(groups(), demo, [["a", "b"], [], ["zorblax"]])
    assert table.header[:6] == ["cluster", "users", "women", "age <25", "age 25-44", "age 45+"]
    first, second, third = table.rows
    # group 0: 60 users, all women; ages cycle 18-24, 25-34, 35-44, 56+ -> 25%, 50%, 25%
    assert first == ["1", "60 (50%)", "100%", "25%", "50%", "25%", "writer (100%)", "a, b"]
    assert second[:3] == ["2", "40 (33%)", "50%"] and second[6:] == ["programmer (100%)", "–"]
    assert third[-1] == "zorblax"
    no_labels = cluster_table(groups(), demographics(None, user_ids()), None)
    assert no_labels.rows[0] == ["1", "60 (50%)", "–", "–", "–", "–", "–"]


@pytest.mark.parametrize("missing_task", ["gender", "age"])
def test_demographics_with_a_task_missing(missing_task) -> None:
    labels = labels_frame()
    demo = demographics(labels.filter(labels["task"] != missing_task), user_ids()[:4])
    values = demo.woman if missing_task == "gender" else demo.age_group
    assert values.tolist() == [None] * 4
