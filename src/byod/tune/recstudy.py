"""``byod tune recommend``: search a next-item head's options on validation targets only.

The protocol is :mod:`byod.transfer.nextitem`'s leave-one-out: each user's last interaction is
the test target, the one before it the validation target. A trial trains a
:class:`~byod.transfer.recommend.RecommendHead` exactly as ``byod transfer recommend`` does
(:func:`~byod.transfer.run.recommend_source`'s split: most users' validation targets train it,
the other users' validation targets drive early stopping) and scores the best sampled HR@10 on
those held-out validation targets; test targets are only scored once, for the tuned and the
default head, after the search.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import polars as pl

from byod.transfer.nextitem import NextItemTask
from byod.transfer.recommend import RecommendConfig, RecommendHead
from byod.transfer.run import FeatureSource, fit_split, recommend_source
from byod.tune.headstudy import HeadStudy
from byod.tune.space import SearchSpace
from byod.tune.study import fail_stale_trials, open_study, remaining_trials, write_outputs

__all__ = ["RecommendResult", "tune_recommend", "headline"]

HOLDOUT = 0.1  # share of users whose validation target drives early stopping (as transfer)


@dataclasses.dataclass
class RecommendResult:
    """What a recommendation study produced.

    Attributes:
        best: the ``best_params.json`` record.
        head: the tuned head (trained as ``byod transfer recommend`` trains it).
        config: its config.
        test: the tuned head's test rows (``RECOMMEND_COLUMNS``).
        default_test: the default head's test rows.
        seconds: wall time of this run's trials.
    """

    best: dict[str, Any]
    head: RecommendHead
    config: RecommendConfig
    test: pl.DataFrame
    default_test: pl.DataFrame
    seconds: float


def headline(rows: pl.DataFrame, metric: str = "hr@10") -> float:
    """The sampled-negatives ``metric`` (``sampled-N``, N from the task) over all users."""
    sel = rows.filter(
        pl.col("protocol").str.starts_with("sampled-")
        & (pl.col("segment") == "all")
        & (pl.col("metric") == metric)
    )
    return float(sel["value"][0])


def _objective(
    task: NextItemTask,
    features: FeatureSource,
    vectors: np.ndarray,
    space: SearchSpace,
    study: HeadStudy,
    static: bool,
) -> Any:
    fit, stop = fit_split(task, HOLDOUT, study.seed)
    if static:
        fit = fit.filter(pl.col("role") == "valid")
    counts = np.bincount(task.history["index"].to_numpy(), minlength=task.items.height)
    parts = fit.partition_by("role")
    base = {"fit": np.concatenate([features(p) for p in parts]), "stop": features(stop)}
    prev = {
        "fit": np.concatenate([vectors[task.previous_items(p)] for p in parts]),
        "stop": vectors[task.previous_items(stop)],
    }
    fit_y = np.concatenate([p["index"].to_numpy() for p in parts])

    def inputs(name: str, last_item: bool) -> np.ndarray:
        return np.concatenate([base[name], prev[name]], axis=1) if last_item else base[name]

    def objective(trial: optuna.Trial) -> float:
        params = space.suggest(trial)
        trial.set_user_attr("resolved", params)
        cfg = RecommendConfig(**{**params, "seed": study.seed})
        head = RecommendHead(cfg).fit(
            inputs("fit", cfg.last_item), fit_y, vectors, counts,
            valid=(inputs("stop", cfg.last_item), stop["index"].to_numpy()),
        )  # fmt: skip
        return max(h["valid_hr@10"] for h in head.history_)

    return objective


def tune_recommend(
    task: NextItemTask,
    features: FeatureSource,
    vectors: np.ndarray,
    space: SearchSpace,
    study_dir: str | Path,
    study: HeadStudy,
    *,
    static: bool = True,
) -> RecommendResult:
    """Run (or continue) the study; train the best and the default head; score both on test.

    Args:
        task: the shared leave-one-out protocol.
        features: user features per target (``table_source`` of a feature table: static).
        vectors: ``(n_items, d_item)`` item text vectors in ``task.items`` order.
        space: a ``recommend`` space.
        study_dir: the study folder.
        study: sampler, seed, trial budget (``head``/``task`` only name the study).
        static: the features ignore the target time (a feature table): train on validation
            targets only, as ``byod transfer recommend --features``.
    """
    study_dir = Path(study_dir)
    opt = open_study(
        study_dir, study.study_name, storage=study.storage, sampler=study.sampler, seed=study.seed
    )
    fail_stale_trials(opt)
    opt.set_user_attr("space", space.to_json())
    t0 = time.perf_counter()
    todo = remaining_trials(opt, study.n_trials)
    if todo:
        objective = _objective(task, features, vectors, space, study, static)
        opt.optimize(objective, n_trials=todo, timeout=study.timeout, catch=())
    seconds = time.perf_counter() - t0
    extra = {"metric": "valid_hr@10", "head": "recommend", "task": study.task,
             "storage": study.storage}  # fmt: skip
    best = write_outputs(opt, study_dir, extra)
    cfg = RecommendConfig(**{**best["params"], "seed": study.seed})
    test, head = recommend_source(task, "tuned", features, vectors, cfg, static=static)
    default_cfg = RecommendConfig(seed=study.seed)
    default, _ = recommend_source(task, "default", features, vectors, default_cfg, static=static)
    return RecommendResult(best, head, cfg, test, default, seconds)
