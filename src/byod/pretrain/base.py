"""The objective contract: what :class:`~byod.pretrain.objectives.ObjectiveMix` asks of each.

An objective draws its own training examples for a set of users and back-propagates its weighted
loss (:meth:`Objective.backward`), or scores a batch without gradients
(:meth:`Objective.batch_loss`). The base class is the contrastive case (a pair sampler and a
loss over the two views' embeddings, trained with GradCache); ``next-item``
(:mod:`byod.pretrain.next_item`) overrides both methods.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from byod.encoders.histories import Batch, HistoryArrays, collate
from byod.losses import InfoNCELoss
from byod.pretrain.grad_cache import grad_cache_step
from byod.pretrain.views import ClueViews, PairSampler

__all__ = ["Objective", "Embed"]

Embed = Callable[[Batch], torch.Tensor]
_INFO_NCE_KEYS = ("temperature", "learnable")


class Objective(nn.Module):
    """A positive-pair sampler and the contrastive loss over (B, d) pairs of its views.

    Args:
        sampler: makes two views of a user.
        loss: maps two (B, d) embedding sets to a scalar (in-batch negatives).
    """

    name: ClassVar[str] = ""
    requirement: ClassVar[str] = ""  # which users can form a pair, for error messages
    sampler_class: ClassVar[type] = ClueViews

    def __init__(self, sampler: PairSampler, loss: nn.Module) -> None:
        super().__init__()
        self.sampler = sampler
        self.loss = loss

    @classmethod
    def build(cls, max_events: int, views: dict[str, Any] | None = None, **loss: Any) -> Objective:
        """The objective with its sampler's ``views`` options and InfoNCE args (others ignored)."""
        known = {f.name for f in dataclasses.fields(cls.sampler_class)}
        options = {k: v for k, v in (views or {}).items() if k in known}
        args = {k: v for k, v in loss.items() if k in _INFO_NCE_KEYS}
        return cls(cls.sampler_class(max_events=max_events, **options), InfoNCELoss(**args))

    def eligible(self, arrays: HistoryArrays) -> np.ndarray:
        """Indices of the users this objective can make a pair for."""
        return self.sampler.eligible(arrays)

    def pairs(
        self, arrays: HistoryArrays, users: np.ndarray, rng: np.random.Generator
    ) -> tuple[Batch, Batch]:
        """Row ``i`` of both batches is a positive pair of views of ``users[i]``."""
        pairs = [self.sampler.pair(arrays, int(u), rng) for u in users]
        return collate([p[0] for p in pairs]), collate([p[1] for p in pairs])

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The loss of (B, d) embeddings of the two views."""
        return self.loss(a, b)

    def backward(
        self,
        embed: Embed,
        arrays: HistoryArrays,
        users: np.ndarray,
        rng: np.random.Generator,
        chunk_size: int,
        autocast: Callable[[], object] | None = None,
        weight: float = 1.0,
    ) -> float:
        """Back-propagate ``weight`` x the loss of ``users``' pairs (GradCache); its value."""
        a, b = self.pairs(arrays, users, rng)

        def weighted(za: torch.Tensor, zb: torch.Tensor) -> torch.Tensor:
            return weight * self(za, zb)

        return grad_cache_step(embed, weighted, a, b, chunk_size, autocast=autocast)

    @torch.no_grad()
    def batch_loss(
        self,
        embed: Embed,
        arrays: HistoryArrays,
        users: np.ndarray,
        rng: np.random.Generator,
        chunk_size: int,
    ) -> float:
        """The (unweighted) loss of one batch of ``users``, without gradients."""
        a, b = self.pairs(arrays, users, rng)
        za, zb = (_chunked(embed, x, chunk_size) for x in (a, b))
        return float(self(za, zb))


def _chunked(embed: Embed, batch: Batch, chunk_size: int) -> torch.Tensor:
    parts = [embed(batch.slice(i, i + chunk_size)) for i in range(0, len(batch), chunk_size)]
    return torch.cat(parts).float()
