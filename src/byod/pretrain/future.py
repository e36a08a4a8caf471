"""The ``future`` objective: the pooled user vector predicts the items of the following window.

For each user of a batch a random cut point of the merged timeline is drawn; the encoder pools
the (up to ``max_events``) events before it, and that vector, scored against the item table
(:meth:`~byod.encoders.sequence.SequenceEncoder.embed_items`), is trained to put its probability
mass on the (up to ``horizon``) items that come next: a multi-label softmax
(:class:`~byod.losses.SetSoftmaxLoss`), over all items or sampled candidates with logQ as in
``next-item``. Unlike ``next-item`` it trains the pooled feature itself, the vector the heads
read. Targets come only from the histories given: nothing at or after a split point.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from byod.encoders.histories import Batch, HistoryArrays, collate
from byod.losses import SetSoftmaxLoss
from byod.pretrain.base import Embed
from byod.pretrain.next_item import NextItemObjective

__all__ = ["FutureViews", "FutureObjective"]


@dataclasses.dataclass(frozen=True)
class FutureViews:
    """The past before a random cut of the timeline and the items right after it.

    Attributes:
        max_events: the longest past.
        horizon: items of the following window that are targets.
    """

    max_events: int = 64
    horizon: int = 16

    def eligible(self, arrays: HistoryArrays) -> np.ndarray:
        """Users with at least two events (a past and a future)."""
        lengths = np.array([arrays.timeline_length(u) for u in range(len(arrays.user_ids))])
        return np.flatnonzero(lengths >= 2)

    def batch(
        self, arrays: HistoryArrays, users: np.ndarray, rng: np.random.Generator
    ) -> tuple[Batch, torch.Tensor]:
        """Pasts and target items ``(B, horizon)`` (text indices; -1: padding)."""
        pasts, targets = [], torch.full((len(users), self.horizon), -1, dtype=torch.int64)
        for i, u in enumerate(users):
            n = arrays.timeline_length(int(u))
            cut = int(rng.integers(1, n))
            pasts.append(arrays.timeline(int(u), max(0, cut - self.max_events), cut))
            future = arrays.timeline(int(u), cut, cut + self.horizon).events
            targets[i, : len(future)] = torch.from_numpy(future)
        return collate(pasts), targets


class FutureObjective(NextItemObjective):
    """Pooled past -> the set of next items (multi-label softmax over the item table).

    Args:
        sampler: pasts and their following items.
        loss: the set softmax.
        n_negatives: uniform negatives when the softmax is sampled.
        full_below: a full softmax for tables up to this many items.
    """

    name = "future"
    requirement = "users with at least two events"
    sampler_class = FutureViews

    def __init__(
        self,
        sampler: FutureViews,
        loss: SetSoftmaxLoss,
        n_negatives: int = 4096,
        full_below: int = 20_000,
    ) -> None:
        super().__init__(sampler, loss)
        self.n_negatives, self.full_below = n_negatives, full_below

    @classmethod
    def build(cls, max_events: int, views: dict | None = None, **loss: object) -> FutureObjective:
        """From the shared view options (``horizon``) and loss settings (``negatives``)."""
        known = {f.name for f in dataclasses.fields(FutureViews)}
        options = {k: v for k, v in (views or {}).items() if k in known}
        return cls(
            FutureViews(max_events=max_events, **options),
            SetSoftmaxLoss(),
            int(loss.get("negatives", 4096)),
            int(loss.get("full_below", 20_000)),
        )

    @staticmethod
    def _units(targets: torch.Tensor) -> int:
        """Rows with at least one target item."""
        return int((targets >= 0).any(1).sum())

    def _sampling(self) -> tuple[int, int]:
        return self.n_negatives, self.full_below

    def _loss(
        self,
        embed: Embed,
        batch: Batch,
        targets: torch.Tensor,
        candidates: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> torch.Tensor:
        """Set-softmax loss of the pooled pasts (scaled by ``1 / sqrt(dim)``)."""
        users = embed.pooled(batch)
        users = users / users.shape[-1] ** 0.5
        valid = (targets >= 0).to(users.device)
        if candidates is None:
            items, log_q = embed.items(), None
            cols = targets.clamp(min=0).to(users.device)
        else:
            cand, log_q = (x.to(users.device) for x in candidates)
            items = embed.items(cand)
            cols = torch.searchsorted(cand, targets.clamp(min=0).to(users.device))
        multi = torch.zeros(len(users), len(items), device=users.device)
        multi.scatter_add_(1, cols, valid.float())
        return self.loss(users.float(), multi, items.float(), log_q)
