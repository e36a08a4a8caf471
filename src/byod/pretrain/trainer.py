"""The pretraining loop: a model, a loss (the objectives), an optimizer factory and callbacks.

Callbacks do the checkpointing, early stopping, metrics log and progress bar.

Determinism without saved random state: the user order of epoch ``e`` comes from
``default_rng([seed, e])``, the views of step ``s`` from ``default_rng([seed, e, s])`` and the
torch seed of a step from ``(seed, global step)``. A resumed run therefore continues exactly as
an uninterrupted one would, and the same seed gives the same model.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from byod.atomic import atomic_path
from byod.encoders.histories import HistoryArrays
from byod.encoders.sequence import SequenceEncoder
from byod.pretrain.embedder import Embedder
from byod.pretrain.objectives import Objective, ObjectiveMix

__all__ = [
    "TrainConfig",
    "TrainState",
    "Trainer",
    "Callback",
    "pick_device",
    "save_checkpoint",
    "load_checkpoint",
]

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Loop settings (the model, loss and optimizer are passed as objects).

    Attributes:
        epochs: maximum passes over the training users.
        batch_size: pairs per step: the contrastive batch, i.e. 2 x (batch_size - 1) negatives.
        chunk_size: views embedded at once (GradCache); memory scales with this, not batch_size.
        val_fraction: share of eligible users held out for the validation loss.
        seed: everything random derives from it.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        mixed_precision: bfloat16 autocast on CUDA.
        max_steps: stop after this many steps in total (None: no limit).
        max_minutes: wall-time cap: no epoch starts that would end after it, judged by the
            last epoch's time (None: no cap). Not saved across a resume.
    """

    epochs: int = 20
    batch_size: int = 256
    chunk_size: int = 128
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    mixed_precision: bool = True
    max_steps: int | None = None
    max_minutes: float | None = None


@dataclasses.dataclass
class TrainState:
    """Mutable progress, checkpointed as plain values."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    best_val: float = math.inf
    bad_epochs: int = 0
    history: list[dict[str, float]] = dataclasses.field(default_factory=list)
    stop: bool = False
    last_loss: float = math.nan


class Callback(Protocol):
    """Hooks called by :class:`Trainer`; each may set ``state.stop``."""

    def on_epoch_start(self, trainer: Trainer, state: TrainState) -> None:
        """Before each epoch's first step."""

    def on_step_end(self, trainer: Trainer, state: TrainState) -> None:
        """After each optimizer step."""

    def on_epoch_end(self, trainer: Trainer, state: TrainState) -> None:
        """After each epoch's validation."""


def pick_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Contrastive pretraining of a :class:`SequenceEncoder` over precomputed event vectors.

    Args:
        model: the sequence encoder.
        loss: the objectives (an :class:`ObjectiveMix`, or one :class:`Objective`): each draws
            its pairs and scores their embeddings; its parameters (temperatures) are trained too.
        optimizer_factory: ``functools.partial(torch.optim.AdamW, lr=...)``.
        config: loop settings.
        callbacks: checkpointing, early stopping, logging, progress.
    """

    def __init__(
        self,
        model: SequenceEncoder,
        loss: ObjectiveMix | Objective,
        optimizer_factory: OptimizerFactory,
        config: TrainConfig,
        callbacks: list[Any] | None = None,
    ) -> None:
        if isinstance(loss, Objective):
            loss = ObjectiveMix([loss])
        self.config = config
        self.device = pick_device(config.device)
        self.model = model.to(self.device)
        self.loss = loss.to(self.device)
        self.optimizer = optimizer_factory(list(model.parameters()) + list(loss.parameters()))
        self.callbacks = callbacks or []
        self.state = TrainState()
        self.train_users = np.zeros(0, dtype=np.int64)
        self.val_users = np.zeros(0, dtype=np.int64)
        self.steps_per_epoch = 0
        self._ids: torch.Tensor | None = None

    # -- data -----------------------------------------------------------------------------
    def split_users(self, arrays: HistoryArrays) -> None:
        """Hold out ``val_fraction`` of the eligible users (seeded).

        Raises:
            NotEnoughPairsError: too few users can form pairs for an objective.
        """
        eligible = self.loss.eligible(arrays)
        rng = np.random.default_rng([self.config.seed, 2**31 - 1])
        perm = rng.permutation(eligible)
        n_val = (
            max(2, int(round(self.config.val_fraction * len(perm))))
            if self.config.val_fraction
            else 0
        )
        self.val_users, self.train_users = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        self.steps_per_epoch = len(self.train_users) // self.config.batch_size or 1

    def _epoch_users(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.config.seed, epoch]).permutation(self.train_users)

    # -- steps ----------------------------------------------------------------------------
    def _autocast(self) -> Callable[[], Any] | None:
        if self.device.type == "cuda" and self.config.mixed_precision:
            return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
        return None

    def _embed(self, table: torch.Tensor) -> Embedder:
        return Embedder(self.model, table, self._ids, self.device, whitened=True)

    @torch.no_grad()
    def _table(self, arrays: HistoryArrays) -> torch.Tensor:
        """The event-text vectors on the device, whitened once; the model's id buckets too.

        The whitening is fitted before training and fixed, so it is applied here once rather
        than to the whole item table at every step.
        """
        if self.model.config.id_buckets:
            keys = torch.from_numpy(arrays.item_keys()).to(self.device)
            self._ids = self.model.item_ids(keys)
        else:
            self._ids = None
        return self.model.whiten_vectors(torch.from_numpy(arrays.vectors).to(self.device))

    def train_step(
        self,
        arrays: HistoryArrays,
        table: torch.Tensor,
        users: np.ndarray,
        rng: np.random.Generator,
    ) -> float:
        """One optimizer step on the pairs of ``users``; returns the loss."""
        self.model.train()
        torch.manual_seed(self.config.seed * 1_000_003 + self.state.global_step)
        self.optimizer.zero_grad(set_to_none=True)
        value = self.loss.backward(
            self._embed(table), arrays, users, rng, self.config.chunk_size, self._autocast()
        )
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        return value

    @torch.no_grad()
    def validation_losses(self, arrays: HistoryArrays, table: torch.Tensor) -> dict[str, float]:
        """Mean loss per objective over the held-out users (same views every epoch) + ``total``."""
        self.model.eval()
        rng = np.random.default_rng([self.config.seed, 7_777])
        return self.loss.evaluate(
            self._embed(table),
            arrays,
            self.val_users,
            rng,
            self.config.batch_size,
            self.config.chunk_size,
        )

    def validation_loss(self, arrays: HistoryArrays, table: torch.Tensor) -> float:
        """The weighted validation loss (what early stopping watches)."""
        return self.validation_losses(arrays, table)["total"]

    # -- loop -----------------------------------------------------------------------------
    def fit(self, arrays: HistoryArrays) -> TrainState:
        """Train until ``epochs``, ``max_steps`` or a callback stops; returns the final state."""
        if not len(self.train_users):
            self.split_users(arrays)
        else:  # resumed: the objectives still need to know which users they can use
            self.loss.eligible(arrays)
        table = self._table(arrays)
        cfg = self.config
        started = time.perf_counter()
        while self.state.epoch < cfg.epochs and not self.state.stop:
            users = self._epoch_users(self.state.epoch)
            t0, losses = time.perf_counter(), []
            self._call("on_epoch_start")
            for step in range(self.state.step_in_epoch, self.steps_per_epoch):
                batch_users = users[step * cfg.batch_size : (step + 1) * cfg.batch_size]
                if len(batch_users) < 2:
                    break
                rng = np.random.default_rng([cfg.seed, self.state.epoch, step])
                self.state.last_loss = self.train_step(arrays, table, batch_users, rng)
                losses.append(self.state.last_loss)
                self.state.step_in_epoch = step + 1
                self.state.global_step += 1
                self._call("on_step_end")
                if self.state.stop or (cfg.max_steps and self.state.global_step >= cfg.max_steps):
                    self.state.stop = True
                    break
            if self.state.step_in_epoch >= self.steps_per_epoch or not self.state.stop:
                self._end_epoch(arrays, table, losses, time.perf_counter() - t0)
            elapsed, last = time.perf_counter() - started, time.perf_counter() - t0
            if cfg.max_minutes is not None and elapsed + last > cfg.max_minutes * 60:
                self.state.stop = True  # the next epoch would end after the cap
        return self.state

    def _end_epoch(
        self, arrays: HistoryArrays, table: torch.Tensor, losses: list[float], seconds: float
    ) -> None:
        vals = self.validation_losses(arrays, table)
        parts = {f"val_{k}": v for k, v in vals.items() if k != "total"}
        self.state.history.append(
            {
                "epoch": self.state.epoch + 1,
                "step": self.state.global_step,
                "train_loss": float(np.mean(losses)) if losses else math.nan,
                "val_loss": vals["total"],
                "seconds": seconds,
                **_temperature(self.loss),
                **(parts if len(parts) > 1 else {}),
            }
        )
        self.state.epoch += 1
        self.state.step_in_epoch = 0
        self._call("on_epoch_end")

    def _call(self, hook: str) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, hook, None)
            if fn is not None:
                fn(self, self.state)

    # -- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: weights, optimizer, progress (tensors and plain values)."""
        return {
            "model": self.model.state_dict(),
            "loss": self.loss.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "state": dataclasses.asdict(self.state),
            "train_users": torch.from_numpy(self.train_users),
            "val_users": torch.from_numpy(self.val_users),
            "steps_per_epoch": self.steps_per_epoch,
        }

    def load_state_dict(self, ckpt: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.model.load_state_dict(ckpt["model"])
        self.loss.load_state_dict(ckpt["loss"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.state = TrainState(**ckpt["state"])
        self.state.stop = False
        self.train_users = ckpt["train_users"].numpy()
        self.val_users = ckpt["val_users"].numpy()
        self.steps_per_epoch = int(ckpt["steps_per_epoch"])


def save_checkpoint(trainer: Trainer, path: Path) -> None:
    """Write a checkpoint atomically (a crash mid-write keeps the previous one)."""
    with atomic_path(path) as tmp:
        torch.save(trainer.state_dict(), tmp)


def load_checkpoint(trainer: Trainer, path: Path) -> None:
    """Resume ``trainer`` from ``path``; ``weights_only`` so no arbitrary code can run."""
    trainer.load_state_dict(torch.load(path, map_location=trainer.device, weights_only=True))


def _temperature(loss: nn.Module) -> dict[str, float]:
    """``{"temperature": t}`` of the loss's (first) contrastive part; ``{}`` when it has none.

    Left out rather than NaN: ``metrics.jsonl`` stays strict JSON.
    """
    scale = getattr(loss, "scale", None)
    return {"temperature": float(1 / scale.detach())} if scale is not None else {}
