"""``byod pretrain --backend ray --workers N``: byod's Trainer on Ray Train's ``TorchTrainer``.

The driver indexes the histories once (event texts through the backbone and its cache) and puts
the arrays in Ray's object store; every worker reads them from there (no copy per worker on a
node), builds the same :class:`~byod.pretrain.trainer.Trainer` as ``byod pretrain`` does and
makes its objectives data-parallel with :func:`~byod.distributed.gather.distribute`: N workers
x B users per worker give a global batch of N * B users and N * B - 1 negatives per anchor, and
the gradient of the full global batch. Ray Train sets up the process group (gloo on CPU, NCCL
on GPU). Gradients are averaged with one all-reduce per step rather than by DDP's hooks, because
GradCache runs several backward passes per step and DDP would all-reduce after each.

Checkpoints go through Ray Train (``ray.train.report``) every ``checkpoint_every`` steps and
at each epoch's end; when a worker dies, Ray restarts the group (``max_failures``) and every
worker resumes from the latest checkpoint, exactly where it stopped (the trainer's random streams
derive from the seed, epoch and step).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from byod.atomic import write_json
from byod.distributed.gather import distribute, negatives_per_anchor
from byod.distributed.runtime import check_cpus, ensure_cluster
from byod.encoders.user import UserEncoder, UserEncoderConfig
from byod.errors import ByodError

__all__ = ["RayPretrainResult", "pretrain_ray"]

_STATE = "trainer.pt"
_ATTEMPTS = "attempts.jsonl"


@dataclasses.dataclass(frozen=True)
class RayPretrainResult:
    """What a distributed run did.

    Attributes:
        workers: training workers.
        per_worker_batch: users per worker per step (B).
        negatives_per_anchor: ``N * B - 1``.
        global_step: optimizer steps done.
        epochs: epochs completed.
        samples_per_s: training users per second over the run's steps (global batch x steps /
            seconds of the last attempt's training steps).
        restarts: times the worker group was restarted after a failure.
        resumed_from: the global step each restart resumed from.
    """

    workers: int
    per_worker_batch: int
    negatives_per_anchor: int
    global_step: int
    epochs: int
    samples_per_s: float
    restarts: int
    resumed_from: tuple[int, ...] = ()


class _Placeholder:
    """Stands for the backbone where only its name and fingerprint are needed (saving)."""

    def __init__(self, name: str, fingerprint: str, dim: int) -> None:
        self.name, self.fingerprint, self.dim = name, fingerprint, dim

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        raise RuntimeError("a training worker never encodes texts: the driver did")


class _RayReport:
    """Report metrics and a checkpoint (rank 0 writes it) through Ray Train; time the steps."""

    def __init__(self, rank: int, every: int) -> None:
        self.rank, self.every = rank, every
        self.t0 = time.perf_counter()
        self.first_step: int | None = None

    def on_epoch_start(self, trainer: Any, state: Any) -> None:
        """Nothing to do."""

    def on_step_end(self, trainer: Any, state: Any) -> None:
        """Every ``every`` steps: a checkpoint."""
        if self.first_step is None:  # time from the end of the first step (warm-up excluded)
            self.first_step, self.t0 = state.global_step, time.perf_counter()
        if state.global_step % self.every == 0:
            self._report(trainer, state)

    def on_epoch_end(self, trainer: Any, state: Any) -> None:
        """At each epoch's end: a checkpoint."""
        self._report(trainer, state)

    def _report(self, trainer: Any, state: Any) -> None:
        import ray.train

        steps = state.global_step - (self.first_step or 0)
        seconds = max(time.perf_counter() - self.t0, 1e-9)
        metrics = {
            "global_step": state.global_step,
            "epoch": state.epoch,
            "loss": state.last_loss,
            "samples_per_s": steps * trainer.config.batch_size / seconds,
        }
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = None
            if self.rank == 0:
                torch.save(trainer.state_dict(), Path(tmp) / _STATE)
                checkpoint = ray.train.Checkpoint.from_directory(tmp)
            ray.train.report(metrics, checkpoint=checkpoint)


def _train_loop(cfg: dict[str, Any]) -> None:
    """One Ray Train worker: the same Trainer as ``byod pretrain``, made data-parallel."""
    import ray
    import ray.train

    from byod.pretrain.callbacks import Checkpoint, EarlyStopping, MetricsLog
    from byod.pretrain.objectives import ObjectiveMix
    from byod.pretrain.run import CHECKPOINT
    from byod.pretrain.trainer import Trainer, load_checkpoint

    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    arrays = ray.get(cfg["arrays"])[0]
    config, out_dir, enc_cfg = cfg["config"], Path(cfg["out_dir"]), cfg["encoder"]
    torch.manual_seed(config.train.seed)
    from byod.encoders.sequence import SequenceEncoder

    model = SequenceEncoder(enc_cfg.sequence)
    placeholder = _Placeholder(
        enc_cfg.backbone, enc_cfg.backbone_fingerprint, arrays.vectors.shape[1]
    )

    def save_best(trainer: Trainer) -> None:
        if rank == 0:
            UserEncoder(enc_cfg, placeholder, trainer.model, device=trainer.device).save(out_dir)

    callbacks: list[Any] = [EarlyStopping(config.patience, on_improve=save_best)]
    if rank == 0:
        callbacks += [MetricsLog(out_dir / "metrics.jsonl"), Checkpoint(out_dir / CHECKPOINT)]
    report = _RayReport(rank, cfg["checkpoint_every"])
    callbacks += [report, *cfg["callbacks"]]
    trainer = Trainer(
        model,
        ObjectiveMix.parse(config.objective, config.max_events, config.views, **config.loss),
        functools.partial(torch.optim.AdamW, **config.optimizer),
        config.train,
        callbacks=callbacks,
    )
    distribute(trainer.loss, [p for g in trainer.optimizer.param_groups for p in g["params"]])
    checkpoint = ray.train.get_checkpoint()
    local = out_dir / CHECKPOINT
    if checkpoint is not None:
        trainer.split_users(arrays)
        with checkpoint.as_directory() as folder:
            load_checkpoint(trainer, Path(folder) / _STATE)
    elif cfg["resume"] and local.exists():
        trainer.split_users(arrays)
        load_checkpoint(trainer, local)
    if rank == 0:  # one line per attempt: a restarted group shows where it resumed
        with (out_dir / _ATTEMPTS).open("a", encoding="utf-8") as f:
            f.write(json.dumps({"start_step": trainer.state.global_step}) + "\n")
    state = trainer.fit(arrays)
    if rank == 0 and not (out_dir / "user_encoder.json").exists():
        save_best(trainer)
    report._report(trainer, state)  # the final state, for the driver


def pretrain_ray(
    histories: Any,
    out_dir: str | Path,
    config: Any,
    *,
    workers: int,
    backbone: Any,
    vector_cache_dir: str | Path | None = None,
    resume: bool = False,
    rendering: dict[str, Any] | None = None,
    checkpoint_every: int = 50,
    max_failures: int = 2,
    use_gpu: bool | None = None,
    callbacks: list[Any] | None = None,
    storage_path: str | Path | None = None,
) -> tuple[UserEncoder, RayPretrainResult]:
    """Pretrain on ``workers`` Ray Train workers; same model folder as :func:`pretrain` writes.

    Args:
        histories: training histories (``HISTORY_SCHEMA``).
        out_dir: the model folder (config, weights, ``metrics.jsonl``, ``distributed.json``).
        config: a :class:`~byod.pretrain.run.PretrainConfig`; ``train.batch_size`` is the batch
            of ONE worker (B): the global batch is ``workers * B``.
        workers: training workers (1 CPU each, or 1 GPU each with ``use_gpu``).
        backbone: the event-text backbone (used on the driver only).
        vector_cache_dir: event-text vector cache.
        resume: continue from the run's latest Ray Train checkpoint, or else from
            ``out_dir/checkpoints/last.pt``; without it a fresh run starts (old Ray checkpoints
            under ``storage_path`` are removed).
        rendering: how the histories' texts were written (saved with the model).
        checkpoint_every: steps between Ray Train checkpoints.
        max_failures: worker-group restarts allowed before the run fails.
        use_gpu: one GPU per worker (None: when CUDA is available and ``train.device`` allows).
        callbacks: extra trainer callbacks run on every worker (picklable).
        storage_path: where Ray Train keeps checkpoints (default ``out_dir/ray``).
    """
    from byod.encoders.cache import EmbeddingCache
    from byod.encoders.histories import HistoryArrays
    from byod.pretrain.run import sequence_config

    ray = ensure_cluster(None)
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / _ATTEMPTS).unlink(missing_ok=True)
    gpu = torch.cuda.is_available() and config.train.device != "cpu" if use_gpu is None else use_gpu
    if not gpu:
        check_cpus(workers, f"--workers {workers}")
    per_worker = config.train.batch_size
    train = dataclasses.replace(
        config.train, batch_size=per_worker * workers, device="cuda" if gpu else "cpu"
    )
    config = dataclasses.replace(config, train=train)
    cache = (
        EmbeddingCache(vector_cache_dir, backbone.fingerprint, backbone.dim)
        if vector_cache_dir
        else None
    )
    arrays = HistoryArrays.build(histories, backbone, cache=cache, progress=False)
    distributed = {
        "backend": "ray",
        "workers": workers,
        "per_worker_batch": per_worker,
        "global_batch": per_worker * workers,
        "negatives_per_anchor": negatives_per_anchor(per_worker, workers),
    }
    enc_cfg = UserEncoderConfig(
        backbone=backbone.name,
        backbone_fingerprint=backbone.fingerprint,
        mode="sequence",
        sequence=sequence_config(config, arrays),
        services=tuple(arrays.services),
        max_events=config.max_events,
        objective=config.objective,
        extra={"pretrain": dataclasses.asdict(config), "distributed": distributed},
        views=config.inference_views,
        rendering=rendering,
    )
    storage = Path(storage_path or out_dir / "ray").resolve()
    if not resume:  # Ray Train would restore a finished run's checkpoints under the same name
        shutil.rmtree(storage / "pretrain", ignore_errors=True)
    trainer = TorchTrainer(
        _train_loop,
        train_loop_config={
            "arrays": [ray.put(arrays)],  # in a list: Ray passes the reference, not the value
            "config": config,
            "encoder": enc_cfg,
            "out_dir": str(out_dir),
            "resume": resume,
            "checkpoint_every": max(1, checkpoint_every),
            "callbacks": list(callbacks or []),
        },
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=gpu),
        run_config=RunConfig(
            name="pretrain",
            storage_path=str(storage),
            failure_config=FailureConfig(max_failures=max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
        ),
    )
    result = trainer.fit()
    if result.error is not None:
        raise ByodError(f"distributed pretraining failed: {result.error}") from result.error
    metrics = result.metrics or {}
    summary = RayPretrainResult(
        workers=workers,
        per_worker_batch=per_worker,
        negatives_per_anchor=distributed["negatives_per_anchor"],
        global_step=int(metrics.get("global_step", 0)),
        epochs=int(metrics.get("epoch", 0)),
        samples_per_s=float(metrics.get("samples_per_s", float("nan"))),
        restarts=max(0, len(_attempts(out_dir)) - 1),
        resumed_from=tuple(_attempts(out_dir)[1:]),
    )
    write_json({**distributed, **dataclasses.asdict(summary)}, out_dir / "distributed.json")
    encoder = UserEncoder.load(out_dir, backbone=backbone, vector_cache_dir=vector_cache_dir)
    return encoder, summary


def _attempts(out_dir: Path) -> list[int]:
    """The global step each attempt of the run started from (restarts: all but the first)."""
    path = out_dir / _ATTEMPTS
    if not path.exists():
        return []
    return [json.loads(line)["start_step"] for line in path.read_text().splitlines() if line]
