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
import functools
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
from byod.transfer.classify import evaluate_classification
from byod.tune.heads import build_head, default_head
from byod.tune.raytune import BACKENDS, optimize_on_ray
from byod.tune.space import SearchSpace
from byod.tune.study import (
    best_trial,
    fail_stale_trials,
    one_se_trial,
    open_study,
    remaining_trials,
    write_outputs,
)

__all__ = [
    "HeadStudy",
    "HeadResult",
    "SELECT",
    "tune_head",
    "select_blocks",
    "holdout_metrics",
    "complexity",
]

SELECT = ("best", "one-se", "beat-default")


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
        backend: ``local`` (Optuna in this process) or ``ray`` (Ray Tune runs ``workers``
            trials at once with the same sampler, storage and objective; see
            :mod:`byod.tune.raytune`).
        workers: trials at once on Ray.
        select: which trial the head is refitted from: ``best`` (the highest CV score),
            ``one-se`` (the simplest trial within one standard error of the best: fewer blocks,
            then stronger regularisation; see :func:`~byod.tune.study.one_se_trial`) or
            ``beat-default`` (the best trial only if it beats the default head on the same CV
            splits by more than one paired standard error; else the defaults are kept).
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
    select: str = "best"
    backend: str = "local"
    workers: int = 2

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


def complexity(kind: str, n_blocks: int) -> Any:
    """A trial's complexity key for the 1-SE rule (smaller is simpler), per head ``kind``.

    Fewer blocks first (fewer columns to learn from), then the head's capacity: logistic ``C``
    (smaller: stronger L2), MLP width × depth, epochs, then a larger ``alpha``.
    """

    def key(params: dict[str, Any]) -> tuple:
        blocks = params.get("blocks")
        used = n_blocks if blocks is None else len(blocks)
        if kind == "logistic":
            return (used, float(params.get("C") or 1.0))
        size = int(params.get("hidden", 256)) * int(params.get("depth", 1))
        return (used, size, int(params.get("epochs", 200)), -float(params.get("alpha", 1e-3)))

    return key


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
        scores = _cv_scores(Xs, y, head, metric, cv)
        trial.set_user_attr("resolved", params)
        trial.set_user_attr("cv_std", float(np.std(scores, ddof=1)) if cv > 1 else 0.0)
        trial.set_user_attr("cv_scores", scores)
        return float(np.mean(scores))

    return objective


def _cv_scores(X: np.ndarray, y: np.ndarray, head: Any, metric: str, cv: int) -> list[float]:  # noqa: N803
    """``metric`` on each of ``cv`` repeated splits; seeds 0..cv-1: the same for every head."""
    per_seed = evaluate_classification(X, y, head, n_seeds=cv)
    return [float(v) for v in per_seed.filter(per_seed["metric"] == metric)["value"]]


def _beats_default(
    opt: optuna.Study, best: optuna.trial.FrozenTrial, X: np.ndarray, y: np.ndarray,  # noqa: N803
    layout: BlockLayout, study: HeadStudy, metric: str, cv: int,
) -> dict[str, float | bool]:  # fmt: skip
    """Paired test of the best trial against the default head on the same CV splits.

    The splits are shared, so the per-split differences cancel most of the split noise that
    makes a 21-class accuracy jump by ±0.01; the defaults are kept unless the mean difference
    exceeds its standard error. The default's scores are kept in the study (computed once).
    """
    key = f"default_cv_{metric}_{cv}"
    base = opt.user_attrs.get(key)
    if base is None:
        base = _cv_scores(X, y, default_head(study.head, layout, seed=study.seed), metric, cv)
        opt.set_user_attr(key, base)
    tuned = best.user_attrs.get("cv_scores")
    if not tuned or len(tuned) != len(base):  # a trial from before cv_scores: no paired test
        return {"defaults_kept": False}
    diff = np.asarray(tuned) - np.asarray(base)
    se = float(np.std(diff, ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
    gain = float(diff.mean())
    return {"defaults_kept": gain <= se, "default_cv": float(np.mean(base)), "paired_gain": gain,
            "paired_se": se}  # fmt: skip


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
    if study.select not in SELECT:
        raise ConfigError(f"--select must be one of {list(SELECT)}, got {study.select!r}")
    if study.backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {list(BACKENDS)}, got {study.backend!r}")
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
    if todo and study.backend == "ray":
        make = functools.partial(_objective, X[train], y[train], layout, space, study, metric)
        offered = tuple(layout.names)
        optimize_on_ray(
            opt, make, functools.partial(space.suggest, offered=offered), n_trials=todo,
            workers=study.workers, timeout=study.timeout,
        )  # fmt: skip
    elif todo:
        objective = _objective(X[train], y[train], layout, space, study, metric)
        opt.optimize(objective, n_trials=todo, timeout=study.timeout, catch=(), n_jobs=study.n_jobs)
    seconds = time.perf_counter() - t0
    extra = {"metric": metric, "head": study.head, "task": study.task, "storage": study.storage,
             "select": study.select}  # fmt: skip
    chosen, cv = None, int(space.settings.get("cv", 3))
    if study.select == "one-se":
        chosen = one_se_trial(opt, complexity(study.head, len(layout.names)), cv)
    if study.select == "beat-default":
        extra |= _beats_default(opt, best_trial(opt), X[train], y[train], layout, study, metric, cv)
    best = write_outputs(opt, study_dir, extra, chosen)
    base = _fit(default_head(study.head, layout, seed=study.seed), X[train], y[train])
    if best.get("defaults_kept"):  # the search did not beat the defaults beyond the noise
        default_test = holdout_metrics(base, X[test], y[test])
        return HeadResult(best, base, layout, default_test, default_test, seconds)
    Xs, sub = select_blocks(X, layout, best["params"].get("blocks"))  # noqa: N806
    head = _fit(build_head(study.head, best["params"], sub, seed=study.seed), Xs[train], y[train])
    return HeadResult(
        best=best,
        head=head,
        layout=sub,
        test=holdout_metrics(head, Xs[test], y[test]),
        default_test=holdout_metrics(base, X[test], y[test]),
        seconds=seconds,
    )
