import numpy as np
import polars as pl
import pytest
from sklearn.model_selection import train_test_split

from byod.errors import ByodError
from byod.transfer.classify import evaluate_classification, summarize, task_labels
from byod.transfer.heads import LogisticHead, make_head


def test_binary_task_reports_auroc_over_seeds():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    y = np.where(X[:, 0] > 0, "F", "M")
    per_seed = evaluate_classification(X, y, make_head("logistic"), n_seeds=3)
    assert per_seed["seed"].unique().sort().to_list() == [0, 1, 2]
    summary = summarize(per_seed)
    assert set(summary["metric"]) == {"accuracy", "balanced_accuracy", "auroc"}
    assert summary.filter(pl.col("metric") == "auroc")["mean"][0] > 0.9
    assert (summary["n_seeds"] == 3).all()


def test_multiclass_task_reports_macro_f1_and_majority_is_a_floor():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4))
    y = np.array(["a", "b", "c"])[np.argmax(X[:, :3], axis=1)]
    learned = summarize(evaluate_classification(X, y, make_head("logistic"), n_seeds=2))
    floor = summarize(evaluate_classification(X, y, make_head("majority"), n_seeds=2))
    get = lambda s, m: s.filter(pl.col("metric") == m)["mean"][0]  # noqa: E731
    assert "macro_f1" in learned["metric"].to_list()
    assert get(learned, "balanced_accuracy") > get(floor, "balanced_accuracy") + 0.3
    assert get(floor, "balanced_accuracy") == pytest.approx(1 / 3)


def test_task_labels_align_rows_and_name_problems():
    labels = pl.DataFrame(
        {"user_id": [f"u{i}" for i in range(12)], "task": ["g"] * 12, "label": ["a", "b"] * 6}
    )
    users = [f"u{i}" for i in range(11, -1, -1)] + ["nobody"]
    rows, y = task_labels(labels, "g", users)
    assert [users[r] for r in rows] == [f"u{i}" for i in range(11, -1, -1)]
    assert y[0] == "b"  # u11
    with pytest.raises(ByodError, match="tasks \\['g'\\]"):
        task_labels(labels, "age", users)
    with pytest.raises(ByodError, match="only 0 labelled users have features"):
        task_labels(labels, "g", ["x", "y"])


def test_one_class_is_refused():
    with pytest.raises(ByodError, match="two classes"):
        evaluate_classification(np.zeros((10, 2)), np.array(["a"] * 10), make_head("logistic"))


class SpyHead(LogisticHead):
    """A logistic head that records the user ids (column 0) and C of every fit."""

    fits: list[tuple[set[int], float]] = []

    def fit(self, X, y):  # noqa: N803
        super().fit(X[:, 1:], y)
        SpyHead.fits.append(({int(v) for v in X[:, 0]}, self.tuned_params_["C"]))
        return self

    def predict_proba(self, X):  # noqa: N803
        return super().predict_proba(X[:, 1:])


def test_c_is_tuned_on_each_splits_training_users_only():
    rng = np.random.default_rng(4)
    n = 240
    X = np.concatenate([np.arange(n)[:, None], rng.normal(size=(n, 6))], axis=1)
    y = np.where(X[:, 1] + rng.normal(0, 1.0, n) > 0, "F", "M")
    SpyHead.fits = []
    evaluate_classification(X, y, SpyHead(), n_seeds=3)
    first = list(SpyHead.fits)
    for seed, (seen, _) in enumerate(first):
        _, test = train_test_split(np.arange(n), test_size=0.2, random_state=seed, stratify=y)
        assert not seen & set(test.tolist()) and len(seen) == n - len(test)
    # Scrambling the held-out users' features of split 0 leaves split 0's chosen C unchanged
    # (their labels stay: the stratified split itself depends on them).
    _, test0 = train_test_split(np.arange(n), test_size=0.2, random_state=0, stratify=y)
    X2 = X.copy()
    X2[test0, 1:] = rng.normal(0, 50, size=(len(test0), 6))
    SpyHead.fits = []
    evaluate_classification(X2, y, SpyHead(), n_seeds=1)
    assert SpyHead.fits[0][0] == first[0][0]
    assert SpyHead.fits[0][1] == first[0][1]
