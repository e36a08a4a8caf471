"""Trials in parallel on Ray Tune, through the study's own Optuna sampler and storage.

``byod tune head --backend ray --workers N`` hands the study to Ray Tune's
:class:`~ray.tune.search.optuna.OptunaSearch`, built on the *same* study (its name, its storage
and its sampler): the search asks the sampler for parameters in the driver, Ray runs up to
``workers`` trials at once (one CPU each), each worker calls the same objective function with an
:class:`optuna.trial.FixedTrial` of the drawn values, and the result is told back to the study.
So the journal, ``best_params.json`` and ``trials.parquet`` are what the local path writes, and a
killed run resumes from the journal either way.

Ray is imported when :func:`optimize_on_ray` runs, never at import time.

On one machine Ray costs its start-up (a few seconds for a local cluster) and a per-trial
scheduling overhead; it pays off when trials are long or the cluster has more cores than one
process uses (see docs/benchmarks.md, "Tuning").
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
from collections.abc import Callable
from typing import Any

import optuna

from byod.distributed.runtime import check_cpus, ensure_cluster

__all__ = ["BACKENDS", "optimize_on_ray"]

BACKENDS = ("local", "ray")
METRIC = "objective"


def _draw(space_suggest: Callable[[optuna.Trial], Any]) -> Callable[[optuna.Trial], None]:
    """The define-by-run function: draw every parameter on the study's trial."""

    def define(trial: optuna.Trial) -> None:
        with contextlib.suppress(optuna.TrialPruned):  # no block kept: the worker prunes it
            space_suggest(trial)

    return define


def _trainable(config: dict[str, Any], make_objective: Callable[[], Any]) -> None:
    """One trial on a Ray worker: the objective on a FixedTrial, its attributes reported."""
    from ray import tune

    trial = optuna.trial.FixedTrial(config)
    try:
        value = make_objective()(trial)
    except optuna.TrialPruned:
        tune.report({METRIC: float("nan"), "pruned": True})  # Tune needs the metric key
        return
    attrs = json.dumps(trial.user_attrs, default=str)
    tune.report({METRIC: float(value), "user_attrs": attrs})


def _searcher(study: optuna.Study, define: Callable[[optuna.Trial], None]) -> Any:
    from ray.tune.search.optuna import OptunaSearch

    class StudySearch(OptunaSearch):
        """OptunaSearch that copies a trial's user attributes into the study before telling.

        A head trial reports once, at its end, so intermediate results are not passed on.
        """

        def on_trial_result(self, trial_id: str, result: dict) -> None:
            """Nothing: the final result is told in :meth:`on_trial_complete`."""

        def on_trial_complete(
            self, trial_id: str, result: dict | None = None, error: bool = False
        ) -> None:
            ot_trial = self._ot_trials.get(trial_id)
            if ot_trial is not None and result and "user_attrs" in result:
                for key, value in json.loads(result["user_attrs"]).items():
                    ot_trial.set_user_attr(key, value)
            if result and result.get("pruned"):
                result = None  # no value and no error: the study records it as pruned
            elif result and math.isnan(float(result.get(METRIC, math.nan))):
                error = True
            super().on_trial_complete(trial_id, result, error)

        def save(self, checkpoint_path: str) -> None:
            """Nothing: the study's storage is the checkpoint (Ray's would be a pickle)."""

    return StudySearch(
        space=define,
        metric=METRIC,
        mode="max",
        sampler=study.sampler,
        study_name=study.study_name,
        storage=study._storage,
    )


def optimize_on_ray(
    study: optuna.Study,
    make_objective: Callable[[], Callable[[optuna.Trial], float]],
    suggest: Callable[[optuna.Trial], Any],
    *,
    n_trials: int,
    workers: int,
    timeout: float | None = None,
) -> None:
    """Run ``n_trials`` more trials of ``study`` on Ray Tune, ``workers`` at a time.

    Args:
        study: the study (its storage must be reachable from this process: a journal file or an
            RDB URL); trials are added to it.
        make_objective: builds the objective on a worker (shipped to Ray with its data).
        suggest: draws a trial's parameters (the objective's own ``space.suggest``).
        n_trials: trials to run.
        workers: trials at once (one CPU each); a local cluster gets this many CPUs.
        timeout: seconds for the whole run (None: no limit).

    Raises:
        ByodError: Ray is not installed, or the cluster has fewer CPUs than ``workers``.
    """
    ensure_cluster(num_cpus=workers)
    check_cpus(1, "a tuning trial")
    from ray import tune

    trainable = tune.with_resources(
        tune.with_parameters(_trainable, make_objective=make_objective), {"cpu": 1}
    )
    with tempfile.TemporaryDirectory(prefix="byod-ray-tune-") as scratch:
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=_searcher(study, _draw(suggest)),
                num_samples=n_trials,
                max_concurrent_trials=workers,
                time_budget_s=timeout,
                reuse_actors=True,  # a fresh actor per trial re-imports byod: ~5 s a trial
            ),
            run_config=tune.RunConfig(storage_path=scratch, verbose=0),
        )
        tuner.fit()
