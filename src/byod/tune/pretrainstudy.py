"""``byod tune pretrain``: trials of pretraining, pruned early on a cheap downstream probe.

Every trial is one :func:`byod.pretrain.run.pretrain` run in ``STUDY_DIR/trials/NNNN`` (the
trainer checkpoints every epoch). After each ``probe_every`` epochs a :class:`ProbeReporter`
callback embeds the probe users with the model as it is, fits a logistic probe on part of them
and reports its score on the others (AUROC for two classes, else accuracy); without labels
(logs with no label task, e.g. the Amazon two-service data) the :class:`NextItemProbe` ranks
held-out users' last events instead (MRR). The pruner (median or Hyperband) compares the score
with the other trials at the same epoch and may stop the trial.

Stop-and-go: a pruned trial keeps its checkpoint. ``resume_pruned_trials(K)`` re-runs the K
pruned trials with the best last report as new trials with the same parameters, continuing from
their checkpoints (no pruning: they run to the end). A trial left running by a killed process is
resumed the same way on the next call, from its last checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import polars as pl
from optuna.trial import TrialState
from sklearn.model_selection import train_test_split

from byod.atomic import write_json
from byod.encoders.backbone import TextBackbone
from byod.encoders.cache import EmbeddingCache
from byod.encoders.histories import HistoryArrays
from byod.encoders.user import UserEncoder, UserEncoderConfig
from byod.errors import ByodError, ConfigError
from byod.pretrain.run import PretrainConfig, pretrain
from byod.pretrain.trainer import Trainer, TrainState
from byod.transfer.classify import task_labels
from byod.transfer.heads import make_head
from byod.transfer.metrics import mrr, truth_ranks
from byod.tune.headstudy import _fit, holdout_metrics
from byod.tune.space import SearchSpace
from byod.tune.study import best_trial, open_study, write_outputs

__all__ = [
    "PretrainStudy",
    "Probe",
    "NextItemProbe",
    "ProbeReporter",
    "trial_config",
    "tune_pretrain",
    "resume_pruned_trials",
    "score_defaults",
]

_RESUME = "resume_from"  # user attribute: the trial whose checkpoint a trial continues
_KIND = "resume_kind"  # "pruned" (stop-and-go) or "killed" (a crashed run)


@dataclasses.dataclass(frozen=True)
class PretrainStudy:
    """How to run a pretraining study.

    Attributes:
        task: the probe's label task.
        n_trials: finished trials the study should hold (resumed pruned trials not counted).
        timeout: seconds this run may spend on trials.
        sampler: ``tpe`` | ``random``.
        pruner: ``hyperband`` (saved 37.5 % of the epochs on ML-1M, median 25 %, the same best
            probe: docs/benchmarks.md) | ``median`` | ``none``.
        seed: sampler, probe split and every trial's training seed.
        epochs: epochs per trial (None: the space's ``epochs``).
        device: ``auto`` | ``cpu`` | ``cuda``.
        storage: None (journal file) or an RDB URL.
        backbone: the event-text backbone's name (recorded in the configs).
        base: PretrainConfig keys every trial starts from (the trial's parameters on top).
        probe_users: labelled users the probe uses at most (fit 70 %, score 30 %).
        name: study name (default ``pretrain-TASK``).
    """

    task: str = "task"
    n_trials: int = 12
    timeout: float | None = None
    sampler: str = "tpe"
    pruner: str = "hyperband"
    seed: int = 0
    epochs: int | None = None
    device: str = "auto"
    storage: str | None = None
    backbone: str = "minilm"
    base: dict[str, Any] = dataclasses.field(default_factory=dict)
    probe_users: int = 2000
    name: str | None = None

    @property
    def study_name(self) -> str:
        """The study's name in its storage."""
        return self.name or f"pretrain-{self.task}"


@dataclasses.dataclass
class Probe:
    """Held-out users for a logistic probe: arrays, labels and their fit / score split."""

    arrays: HistoryArrays
    y: np.ndarray
    fit_rows: np.ndarray
    score_rows: np.ndarray
    metric: str

    @classmethod
    def build(
        cls,
        histories: pl.DataFrame,
        labels: pl.DataFrame,
        task: str,
        backbone: TextBackbone,
        cache: EmbeddingCache | None,
        *,
        max_users: int = 2000,
        seed: int = 0,
    ) -> Probe:
        """Index the labelled users' histories once (event vectors come from the cache)."""
        users = histories["user_id"].unique().sort().to_list()
        rows, y = task_labels(labels, task, users)
        if len(rows) > max_users:
            keep = np.sort(np.random.default_rng(seed).choice(len(rows), max_users, replace=False))
            rows, y = rows[keep], y[keep]
        picked = [users[i] for i in rows]
        services = ["<unknown>", *sorted(histories["service"].unique().to_list())]
        sub = histories.filter(pl.col("user_id").is_in(picked))
        arrays = HistoryArrays.build(sub, backbone, cache=cache, services=services)
        order = {u: i for i, u in enumerate(arrays.user_ids)}
        y = y[np.argsort([order[u] for u in picked])]  # labels in the arrays' user order
        counts = np.unique(y, return_counts=True)[1]
        fit_rows, score_rows = train_test_split(
            np.arange(len(y)), test_size=0.3, random_state=seed,
            stratify=y if counts.min() >= 2 else None,
        )  # fmt: skip
        metric = "auroc" if len(counts) == 2 else "accuracy"
        return cls(arrays, y, fit_rows, score_rows, metric)

    def score(self, vectors: np.ndarray) -> float:
        """Fit a logistic probe (C = 1, standardised) on the fit rows; score the others."""
        head = make_head("logistic", C=1.0, scaling="column")
        head = _fit(head, vectors[self.fit_rows], self.y[self.fit_rows])
        return holdout_metrics(head, vectors[self.score_rows], self.y[self.score_rows])[self.metric]

    def evaluate(self, encoder: UserEncoder) -> float:
        """The probe's score of ``encoder``'s features."""
        return self.score(encoder.encode_arrays(self.arrays))


@dataclasses.dataclass
class NextItemProbe:
    """A label-free proxy: held-out users' last events ranked by the model's own scores.

    The probe users are left out of pretraining altogether (their last events would otherwise
    be training targets); the model reads each one's timeline without its last event and ranks
    that event among ``candidates`` other texts the user never had (fixed at build time, so
    every epoch and trial is scored on the same lists). Metric: MRR (higher is better). Needs a
    model trained with the ``next-item`` objective.

    Attributes:
        arrays: the probe users' timelines minus their last events.
        candidates: ``(U, 1 + n)`` text rows; column 0 is the truth.
    """

    arrays: HistoryArrays
    candidates: np.ndarray
    metric: str = "mrr"

    @classmethod
    def build(
        cls,
        histories: pl.DataFrame,
        backbone: TextBackbone,
        cache: EmbeddingCache | None,
        *,
        max_users: int = 2000,
        n_candidates: int = 100,
        seed: int = 0,
    ) -> tuple[NextItemProbe, pl.DataFrame]:
        """The probe and the histories left to pretrain on (every other user's).

        Probe users are drawn from users with at least 3 events (2 to read, 1 to predict), at
        most ``max_users`` and at most a fifth of them (the rest pretrain).
        """
        counts = histories.group_by("user_id").agg(pl.col("n_events").sum()).sort("user_id")
        eligible = counts.filter(pl.col("n_events") >= 3)["user_id"].to_list()
        n = min(max_users, len(counts) // 5, len(eligible))
        if n < 5:
            raise ConfigError(
                f"the next-item probe needs at least 5 users with 3+ events (and 25 users in "
                f"all); these histories have {len(eligible)} such users of {len(counts)}"
            )
        rng = np.random.default_rng(seed)
        picked = sorted(rng.choice(eligible, n, replace=False).tolist())
        services = ["<unknown>", *sorted(histories["service"].unique().to_list())]
        sub = histories.filter(pl.col("user_id").is_in(picked))
        full = HistoryArrays.build(sub, backbone, cache=cache, services=services)
        arrays, truth = full.without_last_events()
        candidates = np.empty((len(truth), 1 + n_candidates), dtype=np.int64)
        for u, t in enumerate(truth):
            seen = np.unique(full.timeline(u).events)
            pool = np.setdiff1d(np.arange(len(full.vectors)), seen)
            draw = rng.choice(pool, n_candidates, replace=len(pool) < n_candidates)
            candidates[u] = np.concatenate([[t], draw])
        rest = histories.filter(~pl.col("user_id").is_in(picked))
        return cls(arrays, candidates), rest

    def evaluate(self, encoder: UserEncoder) -> float:
        """MRR of each probe user's last event among its candidates, by the model's scores."""
        states = encoder.user_states(self.arrays)  # (U, d)
        items = encoder.embed_item_vectors(self.arrays.vectors, self.arrays.texts)  # (T, d)
        scores = np.einsum("ud,ucd->uc", states, items[self.candidates])
        ranks, ties = truth_ranks(scores, np.zeros(len(scores), dtype=np.int64))
        return mrr(ranks, ties=ties)


class ProbeReporter:
    """Trainer callback: every ``every`` epochs, probe the model, report, maybe prune.

    Args:
        trial: the Optuna trial to report to.
        probe: the held-out users (:class:`Probe` or :class:`NextItemProbe`).
        encoder_config: the user-encoder config of the model being trained (no weights).
        backbone: the event-text backbone.
        every: epochs between two probes.
        prune: whether the pruner may stop this trial.
        item_ids: the trial's ``item_ids`` (``hashed``: the probe adds the id embeddings).
    """

    def __init__(
        self,
        trial: optuna.Trial,
        probe: Probe | NextItemProbe,
        encoder_config: UserEncoderConfig,
        backbone: TextBackbone,
        every: int = 1,
        prune: bool = True,
        item_ids: str = "off",
    ) -> None:
        self.item_ids = item_ids
        self.trial = trial
        self.probe = probe
        self.encoder_config = encoder_config
        self.backbone = backbone
        self.every = every
        self.prune = prune
        self.last: float | None = None

    def on_epoch_end(self, trainer: Trainer, state: TrainState) -> None:
        """Probe after every ``every`` epochs (and the last); raise ``TrialPruned`` if told to."""
        if state.epoch % self.every and state.epoch < trainer.config.epochs and not state.stop:
            return
        # the model's own sequence config: pretrain fills in what the trial left out (causal,
        # whitening and the id table for next-item), and the item ids mode goes with it
        config = dataclasses.replace(
            self.encoder_config, sequence=trainer.model.config, item_ids=self.item_ids
        )
        encoder = UserEncoder(config, self.backbone, trainer.model, device=trainer.device)
        self.last = self.probe.evaluate(encoder)
        trainer.model.train()
        self.trial.report(self.last, state.epoch)
        self.trial.set_user_attr("epochs_run", state.epoch)
        if self.prune and self.trial.should_prune():
            raise optuna.TrialPruned(f"probe {self.last:.4f} at epoch {state.epoch}")


def trial_config(params: dict[str, Any], study: PretrainStudy, epochs: int) -> PretrainConfig:
    """The :class:`PretrainConfig` of one trial's resolved parameters over ``study.base``."""
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in study.base.items()}
    raw.setdefault("backbone", study.backbone)
    sections = {"encoder": ("dim", "layers", "heads", "dropout"),
                "optimizer": ("lr", "weight_decay"), "views": ("min_events",),
                "loss": ("temperature",), "train": ("batch_size",)}  # fmt: skip
    for section, keys in sections.items():
        for key in keys:
            if key in params:
                raw.setdefault(section, {})[key] = params[key]
    if "objective_weights" in params:
        raw["objective"] = ",".join(f"{k}:{w}" for k, w in params["objective_weights"].items())
    if "max_events" in params:
        raw["max_events"] = int(params["max_events"])
    enc = raw.get("encoder", {})
    dim, heads = enc.get("dim", 128), enc.get("heads", 4)  # SequenceEncoderConfig's defaults
    if dim % heads:
        raise optuna.TrialPruned(f"dim {dim} is not divisible by heads {heads}")
    train = {"epochs": epochs, "seed": study.seed, "device": study.device,
             "max_steps": None, **raw.pop("train", {})}  # fmt: skip
    train["chunk_size"] = min(train.get("chunk_size", 128), train.get("batch_size", 256))
    cfg = PretrainConfig.from_dict({**raw, "train": train}, where="pretrain trial")
    return cfg


def _encoder_config(
    cfg: PretrainConfig, histories: pl.DataFrame, backbone: TextBackbone
) -> UserEncoderConfig:
    """What :func:`pretrain` builds for its model (services from the histories, as it does)."""
    from byod.encoders.sequence import SequenceEncoderConfig

    services = ["<unknown>", *sorted(histories["service"].unique().to_list())]
    seq = SequenceEncoderConfig(
        input_dim=backbone.dim, max_events=cfg.max_events, n_services=len(services), **cfg.encoder
    )
    return UserEncoderConfig(
        backbone=backbone.name,
        backbone_fingerprint=backbone.fingerprint,
        mode="sequence",
        sequence=seq,
        services=tuple(services),
        max_events=cfg.max_events,
        objective=cfg.objective,
        views=cfg.inference_views,
    )


def _trial_dir(study_dir: Path, number: int) -> Path:
    return study_dir / "trials" / f"{number:04d}"


def _objective(
    histories: pl.DataFrame,
    probe: Probe | NextItemProbe,
    space: SearchSpace,
    study_dir: Path,
    study: PretrainStudy,
    backbone: TextBackbone,
    cache: Path | None,
) -> Any:
    epochs = int(study.epochs or space.settings.get("epochs", 6))
    every = int(space.settings.get("probe_every", 1))
    # the space's fixed settings (e.g. objective: next-item), under the study's own
    study = dataclasses.replace(study, base={**space.settings.get("base", {}), **study.base})

    def objective(trial: optuna.Trial) -> float:
        params = space.suggest(trial)
        trial.set_user_attr("resolved", params)
        cfg = trial_config(params, study, epochs)
        out = _trial_dir(study_dir, trial.number)
        source = trial.user_attrs.get(_RESUME)
        if source is not None and not out.exists():
            # Continue from the source trial's checkpoint, in this trial's own folder.
            shutil.copytree(_trial_dir(study_dir, int(source)), out)
        reporter = ProbeReporter(
            trial, probe, _encoder_config(cfg, histories, backbone), backbone, every,
            prune=trial.user_attrs.get(_KIND) != "pruned", item_ids=cfg.item_ids,
        )  # fmt: skip
        try:
            encoder, _ = pretrain(
                histories, out, cfg, backbone=backbone, vector_cache_dir=cache,
                resume=source is not None, progress=False, callbacks=[reporter],
            )  # fmt: skip
        except ByodError as exc:  # e.g. a batch too large for the data: this trial cannot run
            raise optuna.TrialPruned(f"cannot train: {exc}") from None
        if reporter.last is None:  # the checkpoint was already at the last epoch
            reporter.last = probe.evaluate(encoder)
        return reporter.last

    return objective


def _resume_killed(opt: optuna.Study) -> int:
    """Trials left RUNNING by a killed process: FAIL them, re-enqueue them from their checkpoint."""
    stale = opt.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for t in stale:
        opt._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        opt.enqueue_trial(t.params, user_attrs={_RESUME: t.number, _KIND: "killed"})
    return len(stale)


def _counted(opt: optuna.Study) -> int:
    """Finished trials that count towards ``n_trials`` (stop-and-go continuations do not)."""
    states = (TrialState.COMPLETE, TrialState.PRUNED)
    return sum(
        1
        for t in opt.get_trials(deepcopy=False, states=states)
        if t.user_attrs.get(_KIND) != "pruned"
    )


def tune_pretrain(
    histories: pl.DataFrame,
    labels: pl.DataFrame | None,
    space: SearchSpace,
    study_dir: str | Path,
    study: PretrainStudy,
    *,
    backbone: TextBackbone,
    cache: str | Path | None = None,
) -> dict[str, Any]:
    """Run (or continue) the pretraining study; write its outputs; return the best record.

    Args:
        histories: training histories (the label probe's users among them; the next-item
            probe's users are taken out of them).
        labels: labels of the probe task; None: the label-free :class:`NextItemProbe`.
        space: the pretraining space (``kind == "pretrain"``).
        study_dir: the study folder (journal, ``trials/NNNN`` model folders, outputs).
        study: how to run it.
        backbone: the event-text backbone.
        cache: event-text vector cache folder.
    """
    study_dir = Path(study_dir)
    opt, objective = _open(histories, labels, space, study_dir, study, backbone, cache)
    _resume_killed(opt)
    todo = max(0, study.n_trials - _counted(opt))
    if todo:
        opt.optimize(objective, n_trials=todo, timeout=study.timeout, catch=())
    best = best_trial(opt)
    return write_outputs(
        opt, study_dir,
        {"metric": opt.user_attrs["metric"], "task": study.task, "storage": study.storage,
         "model": str(_trial_dir(study_dir, best.number))},
    )  # fmt: skip


def _probe(
    histories: pl.DataFrame,
    labels: pl.DataFrame | None,
    study: PretrainStudy,
    backbone: TextBackbone,
    cache: str | Path | None,
) -> tuple[Probe | NextItemProbe, pl.DataFrame]:
    """The study's probe and the histories its trials pretrain on.

    The next-item probe's users are taken out of the histories; the same seed gives the same
    probe users, so every caller probes the same people.
    """
    vec_cache = EmbeddingCache(cache, backbone.fingerprint, backbone.dim) if cache else None
    if labels is None:
        return NextItemProbe.build(
            histories, backbone, vec_cache, max_users=study.probe_users, seed=study.seed
        )
    probe = Probe.build(
        histories, labels, study.task, backbone, vec_cache,
        max_users=study.probe_users, seed=study.seed,
    )  # fmt: skip
    return probe, histories


def score_defaults(
    histories: pl.DataFrame,
    labels: pl.DataFrame | None,
    space: SearchSpace,
    study_dir: str | Path,
    study: PretrainStudy,
    *,
    backbone: TextBackbone,
    cache: str | Path | None = None,
) -> dict[str, Any]:
    """The default settings of every searched parameter, scored like a trial.

    Pretrains with the space's fixed settings alone for the trials' epochs (never pruned) and
    probes the result once at the end, on the trials' probe users. Written to
    ``study_dir/defaults.json`` (the model to ``study_dir/defaults``); a later call reads it.

    Returns:
        ``{"params": {name: default value}, "test": {metric: value}, "users": "probe
        users"}``, what the report shows beside the best trial.
    """
    study_dir = Path(study_dir)
    path = study_dir / "defaults.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    probe, histories = _probe(histories, labels, study, backbone, cache)
    epochs = int(study.epochs or space.settings.get("epochs", 6))
    fixed = dataclasses.replace(study, base={**space.settings.get("base", {}), **study.base})
    cfg = trial_config({}, fixed, epochs)
    out = study_dir / "defaults"
    shutil.rmtree(out, ignore_errors=True)  # a run killed before defaults.json: start over
    encoder, _ = pretrain(
        histories, out, cfg, backbone=backbone, vector_cache_dir=cache, progress=False
    )
    seq = encoder.config.sequence
    params = {"lr": cfg.optimizer.get("lr", 1e-3), "batch_size": cfg.train.batch_size,
              "max_events": cfg.max_events, "dim": seq.dim, "layers": seq.layers,
              "dropout": seq.dropout}  # fmt: skip
    record = {"params": params, "test": {probe.metric: float(probe.evaluate(encoder))},
              "users": "probe users"}  # fmt: skip
    write_json(record, path)
    return record


def _open(
    histories: pl.DataFrame,
    labels: pl.DataFrame | None,
    space: SearchSpace,
    study_dir: Path,
    study: PretrainStudy,
    backbone: TextBackbone,
    cache: str | Path | None,
) -> tuple[optuna.Study, Any]:
    if space.kind != "pretrain":
        raise ConfigError(f"byod tune pretrain needs a pretrain space, got one for {space.kind!r}")
    epochs = int(study.epochs or space.settings.get("epochs", 6))
    opt = open_study(
        study_dir, study.study_name, storage=study.storage, sampler=study.sampler,
        pruner=study.pruner, seed=study.seed, max_resource=epochs,
    )  # fmt: skip
    probe, histories = _probe(histories, labels, study, backbone, cache)
    opt.set_user_attr("metric", probe.metric)
    opt.set_user_attr("space", space.to_json())
    objective = _objective(histories, probe, space, study_dir, study, backbone, cache)
    return opt, objective


def resume_pruned_trials(
    histories: pl.DataFrame,
    labels: pl.DataFrame | None,
    space: SearchSpace,
    study_dir: str | Path,
    study: PretrainStudy,
    k: int,
    *,
    backbone: TextBackbone,
    cache: str | Path | None = None,
) -> list[int]:
    """Continue the ``k`` most promising pruned trials to the end (stop-and-go).

    Promise = the last probe a pruned trial reported. Each continues as a new trial with the
    same parameters from the pruned trial's checkpoint; a pruned trial is resumed once.

    Returns:
        The numbers of the pruned trials that were resumed.
    """
    study_dir = Path(study_dir)
    epochs = int(study.epochs or space.settings.get("epochs", 6))
    opt, objective = _open(histories, labels, space, study_dir, study, backbone, cache)
    _resume_killed(opt)
    done = {t.user_attrs.get(_RESUME) for t in opt.get_trials(deepcopy=False)}
    pruned = [
        t
        for t in opt.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
        if t.intermediate_values
        and t.number not in done
        and max(t.intermediate_values) < epochs  # something left to train
        and (_trial_dir(study_dir, t.number) / "checkpoints" / "last.pt").exists()
    ]
    pruned.sort(key=lambda t: -t.intermediate_values[max(t.intermediate_values)])
    chosen = [t.number for t in pruned[:k]]
    for t in pruned[:k]:
        opt.enqueue_trial(t.params, user_attrs={_RESUME: t.number, _KIND: "pruned"})
    if chosen:
        opt.optimize(objective, n_trials=len(chosen), catch=())
        extra = {"metric": opt.user_attrs["metric"], "task": study.task, "storage": study.storage}
        write_outputs(opt, study_dir, extra)
    return chosen
