"""Pretraining objectives as objects: a pair sampler and the loss over its pairs, combinable.

One class per objective (:class:`ClueObjective`, :class:`SlicesObjective`,
:class:`SimclrObjective`, :class:`NextObjective`); each owns its view sampler
(:mod:`byod.pretrain.views`) and its contrastive loss (:mod:`byod.losses`), with its own learned
temperature. :class:`ObjectiveMix` is what the :class:`~byod.pretrain.trainer.Trainer` receives as
its loss: a weighted sum of objectives, each drawing its own pairs for the users of a batch it can
make pairs for; the total loss is ``sum_k weight_k * loss_k``.

    >>> mix = ObjectiveMix.parse("clue:1,slices:0.5", max_events=64)
    >>> [(o.name, w) for o, w in zip(mix.objectives, mix.weights)]
    [('clue', 1.0), ('slices', 0.5)]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from byod.encoders.histories import HistoryArrays
from byod.errors import ByodError, ConfigError
from byod.pretrain.base import Embed, Objective
from byod.pretrain.future import FutureObjective
from byod.pretrain.next_item import NextItemObjective
from byod.pretrain.views import ClueViews, NextViews, SimclrViews, SlicesViews

__all__ = [
    "Objective",
    "ClueObjective",
    "SlicesObjective",
    "SimclrObjective",
    "NextObjective",
    "ObjectiveMix",
    "OBJECTIVE_CLASSES",
    "NotEnoughPairsError",
    "NextItemObjective",
    "FutureObjective",
    "parse_objective_spec",
    "MIN_USERS",
]

MIN_USERS = 4  # 2 held out for the validation loss, 2 for a training batch (1 positive, 1 negative)


class NotEnoughPairsError(ByodError):
    """The data has too few users who can form a positive pair for an objective."""


class ClueObjective(Objective):
    """CLUE: a user's histories in two different services (random slices of each)."""

    name = "clue"
    requirement = "users with events in at least two services"
    sampler_class = ClueViews


class SlicesObjective(Objective):
    """CoLES: two random contiguous slices of a user's merged timeline (all services)."""

    name = "slices"
    requirement = "users with at least two events"
    sampler_class = SlicesViews


class SimclrObjective(Objective):
    """Two augmentations (crop, delete, substitute, reorder) of one history."""

    name = "simclr"
    requirement = "users with a history of at least two events"
    sampler_class = SimclrViews


class NextObjective(Objective):
    """The past of one history against its future after a random split time."""

    name = "next"
    requirement = "users with a history spanning at least two distinct times"
    sampler_class = NextViews


OBJECTIVE_CLASSES: dict[str, type[Objective]] = {
    c.name: c
    for c in (
        ClueObjective,
        SlicesObjective,
        SimclrObjective,
        NextObjective,
        NextItemObjective,
        FutureObjective,
    )
}


def parse_objective_spec(spec: str) -> list[tuple[str, float]]:
    """``"clue:1,slices:0.5"`` -> ``[("clue", 1.0), ("slices", 0.5)]`` (weight defaults to 1).

    Raises:
        ConfigError: an unknown objective, a repeated one, or a weight that is not > 0.
    """
    out: list[tuple[str, float]] = []
    for part in (p.strip() for p in spec.split(",")):
        name, _, weight = part.partition(":")
        if name not in OBJECTIVE_CLASSES:
            raise ConfigError(
                f"objective {name!r} in {spec!r} is unknown; choose from {list(OBJECTIVE_CLASSES)}"
                " with optional weights, e.g. 'clue:1,slices:1'"
            )
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            w = float("nan")
        if not w > 0:
            raise ConfigError(f"objective {name!r}: weight must be a number > 0, got {weight!r}")
        if name in dict(out):
            raise ConfigError(f"objective {name!r} is listed twice in {spec!r}")
        out.append((name, w))
    return out


class ObjectiveMix(nn.Module):
    """A weighted sum of objectives: the loss object the trainer receives.

    Args:
        objectives: the objectives.
        weights: one weight (> 0) per objective.
    """

    def __init__(self, objectives: list[Objective], weights: list[float] | None = None) -> None:
        super().__init__()
        weights = [1.0] * len(objectives) if weights is None else list(weights)
        if not objectives or len(weights) != len(objectives):
            raise ValueError("ObjectiveMix needs objectives and one weight per objective")
        self.objectives = nn.ModuleList(objectives)
        self.weights = weights
        self._masks: list[np.ndarray] = []

    @classmethod
    def parse(
        cls, spec: str, max_events: int, views: dict[str, Any] | None = None, **loss: Any
    ) -> ObjectiveMix:
        """Build from ``"clue:1,slices:1"``; every objective gets the same settings."""
        parsed = parse_objective_spec(spec)
        objectives = [OBJECTIVE_CLASSES[n].build(max_events, views, **loss) for n, _ in parsed]
        return cls(objectives, [w for _, w in parsed])

    @property
    def names(self) -> list[str]:
        """The objectives' names, in order."""
        return [o.name for o in self.objectives]

    @property
    def scale(self) -> torch.Tensor | None:
        """``1 / temperature`` of the first objective that has one (the progress line shows it).

        None when none has (``next-item`` alone: a softmax over items, no temperature).
        """
        scales = [getattr(o.loss, "scale", None) for o in self.objectives]
        return next((s for s in scales if s is not None), None)

    def eligible(self, arrays: HistoryArrays) -> np.ndarray:
        """Users at least one objective can use; raises when an objective has too few.

        Raises:
            NotEnoughPairsError: fewer than :data:`MIN_USERS` users can form pairs for one of the
                objectives (the message says how many could, and how many are needed).
        """
        self._masks = []
        for obj in self.objectives:
            users = obj.eligible(arrays)
            if len(users) < MIN_USERS:
                raise NotEnoughPairsError(
                    f"objective {obj.name!r}: only {len(users)} of {len(arrays.user_ids)} users "
                    f"can form pairs ({obj.requirement}); at least {MIN_USERS} are needed "
                    "(2 for the validation loss, 2 for a training batch): give more users or "
                    "choose another objective"
                )
            mask = np.zeros(len(arrays.user_ids), dtype=bool)
            mask[users] = True
            self._masks.append(mask)
        return np.flatnonzero(np.logical_or.reduce(self._masks))

    def _users(self, k: int, users: np.ndarray) -> np.ndarray:
        return users[self._masks[k][users]] if self._masks else users

    def backward(
        self,
        embed: Embed,
        arrays: HistoryArrays,
        users: np.ndarray,
        rng: np.random.Generator,
        chunk_size: int,
        autocast: Callable[[], object] | None = None,
    ) -> float:
        """Back-propagate the weighted loss of ``users``' pairs (GradCache); return its value."""
        total = 0.0
        for k, (obj, w) in enumerate(zip(self.objectives, self.weights, strict=True)):
            mine = self._users(k, users)
            if len(mine) < 2:  # no negative in the batch
                continue
            total += obj.backward(embed, arrays, mine, rng, chunk_size, autocast, w)
        return total

    @torch.no_grad()
    def evaluate(
        self,
        embed: Embed,
        arrays: HistoryArrays,
        users: np.ndarray,
        rng: np.random.Generator,
        batch_size: int,
        chunk_size: int,
    ) -> dict[str, float]:
        """Per-objective mean loss over ``users`` in batches, and their weighted sum (``total``)."""
        out: dict[str, float] = {}
        for k, obj in enumerate(self.objectives):
            mine = self._users(k, users)
            losses, sizes = [], []
            for start in range(0, len(mine), batch_size):
                batch = mine[start : start + batch_size]
                if len(batch) < 2:
                    continue
                losses.append(obj.batch_loss(embed, arrays, batch, rng, chunk_size))
                sizes.append(len(batch))
            out[obj.name] = float(np.average(losses, weights=sizes)) if losses else float("nan")
        out["total"] = float(
            sum(w * out[o.name] for o, w in zip(self.objectives, self.weights, strict=True))
        )
        return out
