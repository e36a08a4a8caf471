"""Studies: storage (journal file by default), samplers, pruners, and what a study writes.

A study lives in its folder::

    STUDY_DIR/
      journal.log          Optuna's journal (append-only; a killed run continues from it)
      best_params.json     the best trial: number, value, parameters, the space searched
      trials.parquet       one row per trial: number, state, value, seconds, params_*, user attrs
      tuning.html / .md    the "Tuning" report fragment (byod.tune.report)

``storage`` may instead be an RDB URL (``sqlite:///study.db``, ``postgresql://...``); SQLite
serialises writers, so parallel workers on it warn.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import polars as pl
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import TrialState

from byod.atomic import write_json, write_parquet
from byod.errors import ConfigError

__all__ = [
    "SAMPLERS",
    "PRUNERS",
    "JOURNAL",
    "open_storage",
    "open_study",
    "fail_stale_trials",
    "remaining_trials",
    "trials_frame",
    "best_trial",
    "one_se_trial",
    "write_outputs",
]

JOURNAL = "journal.log"
SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "hyperband", "none")


def open_storage(study_dir: Path, storage: str | None = None, *, n_jobs: int = 1) -> Any:
    """The study's storage: a journal file in ``study_dir`` unless ``storage`` is an RDB URL.

    Raises:
        ConfigError: ``storage`` is neither a URL nor a path.
    """
    if storage is None or "://" not in storage:
        path = Path(storage) if storage else study_dir / JOURNAL
        path.parent.mkdir(parents=True, exist_ok=True)
        # The open(O_EXCL) lock: one syscall fewer per write than the default symlink lock
        # (measured 4.7 vs 6.1 ms per trial; the rest is fsync, 3 per trial).
        lock = JournalFileOpenLock(str(path))
        return JournalStorage(JournalFileBackend(str(path), lock_obj=lock))
    if storage.startswith("sqlite") and n_jobs > 1:
        warnings.warn(
            f"SQLite serialises writes: {n_jobs} parallel workers on {storage} will wait on its "
            "lock (and may hit 'database is locked'); use the journal file (the default) or a "
            "server database for parallel trials",
            UserWarning,
            stacklevel=2,
        )
    try:
        return RDBStorage(storage)
    except (ImportError, ValueError) as exc:  # unknown dialect, missing driver
        raise ConfigError(f"--storage {storage!r}: cannot open it ({exc})") from None


def _sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=8)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ConfigError(f"--sampler must be one of {list(SAMPLERS)}, got {name!r}")


def _pruner(name: str, max_resource: int) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(max_resource, 2))
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"--pruner must be one of {list(PRUNERS)}, got {name!r}")


def open_study(
    study_dir: Path,
    name: str,
    *,
    storage: str | None = None,
    sampler: str = "tpe",
    pruner: str = "none",
    seed: int = 0,
    max_resource: int = 1,
    n_jobs: int = 1,
) -> optuna.Study:
    """Create the study, or load it when ``study_dir`` / ``storage`` already holds it."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        storage=open_storage(Path(study_dir), storage, n_jobs=n_jobs),
        study_name=name,
        sampler=_sampler(sampler, seed),
        pruner=_pruner(pruner, max_resource),
        direction="maximize",
        load_if_exists=True,
    )


def fail_stale_trials(study: optuna.Study) -> int:
    """Mark trials left RUNNING by a killed run as FAIL (their work is lost); return how many.

    A study is run by one process at a time (parallel trials are threads of that process), so a
    RUNNING trial at start-up belongs to a process that is gone.
    """
    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for t in stale:
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
    return len(stale)


def remaining_trials(study: optuna.Study, n_trials: int) -> int:
    """Trials still to run so the study holds ``n_trials`` finished (complete or pruned) ones."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    return max(0, n_trials - len(done))


def trials_frame(study: optuna.Study) -> pl.DataFrame:
    """One row per trial: ``number, state, value, seconds``, ``params_*`` and ``attr_*``."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        seconds = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else None
        )
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "seconds": seconds,
            "n_reports": len(t.intermediate_values),
        }
        row.update({f"params_{k}": _cell(v) for k, v in t.params.items()})
        row.update({f"attr_{k}": _cell(v) for k, v in t.user_attrs.items()})
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def _cell(value: Any) -> Any:
    """Parameters of mixed types (True / 'auto' / 0.1) as strings, so a column has one type."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return json.dumps(value) if not isinstance(value, str) else value
    return float(value)


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial:
    """The best complete trial.

    Raises:
        ConfigError: no trial has completed yet.
    """
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    done = [t for t in done if t.value is not None and not math.isnan(t.value)]
    if not done:
        raise ConfigError(f"study {study.study_name!r} has no complete trial yet; run more trials")
    return max(done, key=lambda t: (t.value, -t.number))


def one_se_trial(
    study: optuna.Study, complexity: Callable[[dict[str, Any]], tuple], n_splits: int
) -> optuna.trial.FrozenTrial:
    """The simplest complete trial within one standard error of the best (Breiman's 1-SE rule).

    The best trial's CV mean is partly luck of its folds: with ``n_splits`` repeated splits of
    standard deviation ``cv_std`` (its user attribute), any trial scoring at least
    ``best - cv_std / sqrt(n_splits)`` is as good within the noise, and the least complex of them
    (``complexity(resolved params)``, smaller is simpler; ties: the higher score) is chosen.
    """
    best = best_trial(study)
    se = float(best.user_attrs.get("cv_std", 0.0)) / math.sqrt(max(n_splits, 1))
    near = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.value is not None and t.value >= best.value - se
    ]
    return min(near, key=lambda t: (complexity(t.user_attrs.get("resolved", t.params)), -t.value))


def write_outputs(
    study: optuna.Study,
    study_dir: Path,
    extra: dict[str, Any] | None = None,
    chosen: optuna.trial.FrozenTrial | None = None,
) -> dict[str, Any]:
    """Write ``best_params.json`` and ``trials.parquet`` (atomically); return the best record.

    ``chosen``: the trial to record (a selection rule's pick); default the best complete one.
    """
    best = chosen or best_trial(study)
    record = {
        "study": study.study_name,
        "trial": best.number,
        "value": best.value,
        "params": best.user_attrs.get("resolved", best.params),
        "raw_params": best.params,
        "n_trials": len(study.trials),
        **(extra or {}),
    }
    write_json(record, Path(study_dir) / "best_params.json")
    frame = trials_frame(study)
    write_parquet(frame, Path(study_dir) / "trials.parquet")
    return record
