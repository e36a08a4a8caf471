"""``byod tune head``: search a classification head's hyper-parameters on training users only.

1. The labelled users are split once (stratified, ``seed``) into training and test users.
2. Every trial scores its parameters by repeated stratified 80/20 splits of the **training**
   users (``evaluate_classification``, ``cv`` splits, the same splits for every trial); the test
   users never inform a choice.
3. The best parameters are refitted on all training users; that head and the default head
   (``byod transfer classify``'s: every block, built-in CV over ``C``) are scored once on the
   test users. The tuned head's card records the study, the trial and both scores.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from byod.errors import ConfigError
from byod.features.blocks import BlockLayout
from byod.transfer.classify import evaluate_classification, summarize
from byod.tune.heads import build_head, default_head
from byod.tune.space import SearchSpace
from byod.tune.study import fail_stale_trials, open_study, remaining_trials, write_outputs

__all__ = ["HeadStudy", "HeadResult", "tune_head", "select_blocks", "holdout_metrics"]


@dataclasses.dataclass(frozen=True)
class HeadStudy:
    """How to run one head study.

    Attributes:
        head: ``logistic`` | ``mlp``.
        task: the label task (for names and the card).
        n_trials: finished trials the study should hold (a resumed study runs the rest).
        timeout: seconds this run may spend on trials (None: no limit).
        sampler: ``tpe`` | ``random``.
        seed: the sampler's seed, the train/test user split and every CV split.
        metric: the criterion; None: AUROC for two classes, else accuracy.
        test_size: share of labelled users held out as test users.
        storage: None (journal file in the study folder) or an RDB URL.
        name: the study name (default ``head-TASK-HEAD``).
        n_jobs: trials run in parallel threads (results then depend on timing: a seed no
            longer fixes the best parameters).
    """

    head: str = "logistic"
    task: str = "task"
    n_trials: int = 30
    timeout: float | None = None
    sampler: str = "tpe"
    seed: int = 0
    metric: str | None = None
    test_size: float = 0.2
    storage: str | None = None
    name: str | None = None
    n_jobs: int = 1

    @property
    def study_name(self) -> str:
        """The study's name in its storage."""
        return self.name or f"head-{self.task}-{self.head}"


@dataclasses.dataclass
class HeadResult:
    """What a head study produced.

    Attributes:
        best: the ``best_params.json`` record.
        head: the tuned head, fitted on the training users.
        layout: the blocks the tuned head reads, in column order.
        test: test-user metrics of the tuned head.
        default_test: test-user metrics of the default head on the same split.
        seconds: wall time of this run's trials.
    """

    best: dict[str, Any]
    head: Any
    layout: BlockLayout
    test: dict[str, float]
    default_test: dict[str, float]
    seconds: float


def select_blocks(
    X: np.ndarray,  # noqa: N803
    layout: BlockLayout,
    names: list[str] | None,
) -> tuple[np.ndarray, BlockLayout]:
    """The columns of blocks ``names`` (None: all) ``(n, d')`` and their rebased layout."""
    if names is None:
        return X, layout
    have = {b.name: b for b in layout.blocks}
    sub = layout.select(names)
    cols = np.concatenate([np.arange(have[n].offset, have[n].offset + have[n].dim) for n in names])
    return X[:, cols], sub


def holdout_metrics(head: Any, X: np.ndarray, y: np.ndarray) -> dict[str, float]:  # noqa: N803
    """AUROC (2 classes) or macro F1, accuracy and balanced accuracy of a fitted head."""
    proba = head.predict_proba(X)
    pred = head.classes_[proba.argmax(axis=1)]
    out = {
        "accuracy": accuracy_score(y, pred),
        "balanced_accuracy": balanced_accuracy_score(y, pred),
    }
    if len(head.classes_) == 2:
        out["auroc"] = roc_auc_score(y == head.classes_[1], proba[:, 1])
    else:
        out["macro_f1"] = f1_score(y, pred, average="macro")
    return {k: float(v) for k, v in out.items()}


def _metric(study: HeadStudy, y: np.ndarray) -> str:
    metric = study.metric or ("auroc" if len(np.unique(y)) == 2 else "accuracy")
    valid = ("auroc",) if len(np.unique(y)) == 2 else ("macro_f1",)
    valid += ("accuracy", "balanced_accuracy")
    if metric not in valid:
        raise ConfigError(
            f"--metric {metric!r} does not fit this task; choose one of {list(valid)}"
        )
    return metric


def _fit(head: Any, X: np.ndarray, y: np.ndarray) -> Any:  # noqa: N803
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return head.fit(X, y)


def _objective(
    X: np.ndarray,  # noqa: N803
    y: np.ndarray,
    layout: BlockLayout,
    space: SearchSpace,
    study: HeadStudy,
    metric: str,
) -> Any:
    cv = int(space.settings.get("cv", 3))

    def objective(trial: optuna.Trial) -> float:
        params = space.suggest(trial, offered=tuple(layout.names))
        Xs, sub = select_blocks(X, layout, params.get("blocks"))  # noqa: N806
        head = build_head(study.head, params, sub, seed=study.seed)
        # The CV splits are seeds 0..cv-1 of the training users: the same for every trial.
        scores = summarize(evaluate_classification(Xs, y, head, n_seeds=cv))
        row = scores.filter(scores["metric"] == metric).row(0, named=True)
        trial.set_user_attr("resolved", params)
        trial.set_user_attr("cv_std", row["std"])
        return float(row["mean"])

    return objective


def tune_head(
    X: np.ndarray,  # noqa: N803
    y: np.ndarray,
    layout: BlockLayout,
    space: SearchSpace,
    study_dir: str | Path,
    study: HeadStudy,
) -> HeadResult:
    """Run (or continue) the study in ``study_dir``, refit the best head, score both on test.

    Args:
        X: ``(n_labelled, d)`` features of the labelled users, columns as ``layout``.
        y: ``(n_labelled,)`` labels.
        layout: the blocks of ``X``.
        space: what to search (its ``kind`` must be ``study.head``).
        study_dir: the study folder (journal, outputs).
        study: how to run it.
    """
    if space.kind != study.head:
        raise ConfigError(f"the search space is for {space.kind!r}, the head is {study.head!r}")
    study_dir = Path(study_dir)
    metric = _metric(study, y)
    counts = np.unique(y, return_counts=True)[1]
    train, test = train_test_split(
        np.arange(len(y)), test_size=study.test_size, random_state=study.seed,
        stratify=y if counts.min() >= 2 else None,
    )  # fmt: skip
    opt = open_study(
        study_dir, study.study_name, storage=study.storage, sampler=study.sampler,
        seed=study.seed, n_jobs=study.n_jobs,
    )  # fmt: skip
    fail_stale_trials(opt)
    opt.set_user_attr("space", space.to_json())
    t0 = time.perf_counter()
    todo = remaining_trials(opt, study.n_trials)
    if todo:
        objective = _objective(X[train], y[train], layout, space, study, metric)
        opt.optimize(objective, n_trials=todo, timeout=study.timeout, catch=(), n_jobs=study.n_jobs)
    seconds = time.perf_counter() - t0
    extra = {"metric": metric, "head": study.head, "task": study.task, "storage": study.storage}
    best = write_outputs(opt, study_dir, extra)
    Xs, sub = select_blocks(X, layout, best["params"].get("blocks"))  # noqa: N806
    head = _fit(build_head(study.head, best["params"], sub, seed=study.seed), Xs[train], y[train])
    base = _fit(default_head(study.head, layout, seed=study.seed), X[train], y[train])
    return HeadResult(
        best=best,
        head=head,
        layout=sub,
        test=holdout_metrics(head, Xs[test], y[test]),
        default_test=holdout_metrics(base, X[test], y[test]),
        seconds=seconds,
    )
