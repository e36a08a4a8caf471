"""Attribute prediction on frozen features: user-level stratified splits over several seeds.

One call evaluates one (feature source, task, head): ``n_seeds`` different 80/20 user splits,
the head fitted on the training users only, metrics on the held-out users, mean ± std.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import polars as pl
from sklearn.base import ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from byod.errors import ByodError

__all__ = ["task_labels", "evaluate_classification", "summarize", "CLASSIFY_COLUMNS"]

CLASSIFY_COLUMNS = ["source", "task", "head", "metric", "mean", "std", "n_seeds", "n_users"]


def task_labels(
    labels: pl.DataFrame, task: str, user_ids: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``user_ids`` that carry a ``task`` label, and those labels.

    Returns:
        ``rows`` ``(m,)`` indices into ``user_ids`` and ``y`` ``(m,)`` string labels.

    """
    have = labels.filter(pl.col("task") == task)
    if have.is_empty():
        tasks = sorted(labels["task"].unique().to_list())
        raise ByodError(f"no labels for task {task!r}; the labels file has tasks {tasks}")
    if have["user_id"].is_duplicated().any():
        raise ByodError(f"task {task!r}: a user has more than one label")
    index = pl.DataFrame({"user_id": user_ids, "row": np.arange(len(user_ids))})
    joined = have.join(index, on="user_id", how="inner").sort("row")
    if joined.height < 10:
        raise ByodError(
            f"task {task!r}: only {joined.height} labelled users have features "
            f"({have.height} labelled, {len(user_ids)} with features); check the user ids match"
        )
    return joined["row"].to_numpy(), joined["label"].to_numpy()


def _metrics(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> dict[str, float]:
    pred = classes[proba.argmax(axis=1)]
    out = {
        "accuracy": accuracy_score(y_true, pred),
        "balanced_accuracy": balanced_accuracy_score(y_true, pred),
    }
    if len(classes) == 2:
        out["auroc"] = roc_auc_score(y_true == classes[1], proba[:, 1])
    else:
        out["macro_f1"] = f1_score(y_true, pred, average="macro")
    return {k: float(v) for k, v in out.items()}


def evaluate_classification(
    X: np.ndarray,  # noqa: N803 (sklearn names)
    y: np.ndarray,
    head: ClassifierMixin | Callable[[], ClassifierMixin],
    *,
    n_seeds: int = 5,
    test_size: float = 0.2,
) -> pl.DataFrame:
    """Fit ``head`` on ``n_seeds`` stratified user splits and score the held-out users.

    Args:
        X: ``(n_users, d)`` features (dense or sparse), one row per labelled user.
        y: ``(n_users,)`` labels.
        head: an unfitted classifier (cloned per seed) or a factory returning one.
        n_seeds: number of different random splits (seeds ``0 .. n_seeds - 1``).
        test_size: share of users held out per split.

    Returns:
        One row per (seed, metric): ``seed, metric, value``.

    """
    y = np.asarray(y)
    counts = np.unique(y, return_counts=True)[1]
    if len(counts) < 2:
        raise ByodError("a classification task needs at least two classes")
    # Classes too small to stratify (fewer than 2 users) would make the split fail.
    stratify = y if counts.min() >= 2 else None
    rows = []
    for seed in range(n_seeds):
        train, test = train_test_split(
            np.arange(len(y)), test_size=test_size, random_state=seed, stratify=stratify
        )
        model = head() if callable(head) and not hasattr(head, "fit") else clone(head)
        # Every hyper-parameter search runs inside ``fit`` on this split's training users only
        # (no test user of any split ever informs the choice); the seed varies its CV folds.
        if "seed" in model.get_params():
            model.set_params(seed=seed)
        # One BLAS thread: for these small matrices OpenBLAS's thread hand-offs cost more than
        # they save (measured 10x slower with 2 threads on a 2-core machine under load).
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X[train], y[train])
        proba = model.predict_proba(X[test])
        for metric, value in _metrics(y[test], proba, model.classes_).items():
            rows.append({"seed": seed, "metric": metric, "value": value})
    return pl.DataFrame(rows)


def summarize(per_seed: pl.DataFrame) -> pl.DataFrame:
    """Mean ± std (over seeds) per metric: ``metric, mean, std, n_seeds``."""
    return (
        per_seed.group_by("metric", maintain_order=True)
        .agg(
            mean=pl.col("value").mean(),
            std=pl.col("value").std(ddof=1).fill_null(0.0),
            n_seeds=pl.len(),
        )
        .with_columns(pl.col("n_seeds").cast(pl.Int64))
    )
