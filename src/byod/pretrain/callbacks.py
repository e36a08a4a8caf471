"""Trainer callbacks: checkpoints, early stopping (saving the best model), metrics log, progress."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from tqdm.auto import tqdm

from byod.atomic import write_text
from byod.pretrain.trainer import Trainer, TrainState, save_checkpoint

__all__ = ["Checkpoint", "EarlyStopping", "MetricsLog", "ProgressBar"]


class Checkpoint:
    """Save a resumable checkpoint every ``every_steps`` steps and at each epoch end."""

    def __init__(self, path: str | Path, every_steps: int = 20) -> None:
        self.path = Path(path)
        self.every_steps = every_steps

    def on_step_end(self, trainer: Trainer, state: TrainState) -> None:
        """Checkpoint every ``every_steps`` steps."""
        if self.every_steps and state.global_step % self.every_steps == 0:
            save_checkpoint(trainer, self.path)

    def on_epoch_end(self, trainer: Trainer, state: TrainState) -> None:
        """Checkpoint at the end of every epoch."""
        save_checkpoint(trainer, self.path)


class EarlyStopping:
    """Stop when the validation loss has not improved by ``min_delta`` for ``patience`` epochs.

    Args:
        patience: epochs without improvement before stopping.
        min_delta: the smallest decrease that counts as an improvement.
        on_improve: called with the trainer whenever the validation loss improves (save the model).
    """

    def __init__(
        self,
        patience: int = 3,
        min_delta: float = 1e-3,
        on_improve: Callable[[Trainer], None] | None = None,
    ) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.on_improve = on_improve

    def on_epoch_end(self, trainer: Trainer, state: TrainState) -> None:
        """Track the best validation loss; stop after ``patience`` epochs without improvement."""
        val = state.history[-1]["val_loss"]
        if math.isnan(val):
            return
        if val < state.best_val - self.min_delta:
            state.best_val = val
            state.bad_epochs = 0
            if self.on_improve is not None:
                self.on_improve(trainer)
        else:
            state.bad_epochs += 1
            if state.bad_epochs >= self.patience:
                state.stop = True


class MetricsLog:
    """Write every epoch's metrics so far as JSON lines (the loss curve), atomically.

    The whole history is rewritten each epoch, so a run resumed from a checkpoint never logs an
    epoch twice.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_epoch_end(self, trainer: Trainer, state: TrainState) -> None:
        """Rewrite the log from ``state.history``."""
        write_text("".join(json.dumps(h) + "\n" for h in state.history), self.path)


class ProgressBar:
    """A tqdm bar per epoch: loss, steps/s and ETA; the epoch summary printed below it."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bar: tqdm | None = None

    def on_epoch_start(self, trainer: Trainer, state: TrainState) -> None:
        """Open the epoch's bar (at the resumed step after a restart)."""
        if self.enabled:
            self._bar = tqdm(
                total=trainer.steps_per_epoch,
                initial=state.step_in_epoch,
                desc=f"epoch {state.epoch + 1}/{trainer.config.epochs}",
                unit="step",
                leave=False,
            )

    def on_step_end(self, trainer: Trainer, state: TrainState) -> None:
        """Advance the bar."""
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{state.last_loss:.3f}")

    def on_epoch_end(self, trainer: Trainer, state: TrainState) -> None:
        """Close the bar and print the epoch's losses."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.enabled:
            h = state.history[-1]
            # next-item alone has no temperature: its line shows none rather than "t=nan"
            t = f"t={h['temperature']:.3f}  " if "temperature" in h else ""
            tqdm.write(
                f"epoch {h['epoch']:>3}  train {h['train_loss']:.4f}  val {h['val_loss']:.4f}  "
                f"{t}{h['seconds']:.1f}s"
            )
