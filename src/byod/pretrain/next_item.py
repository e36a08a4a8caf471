"""The ``next-item`` objective: a causal sequence model predicts each next event of a timeline.

For each user of a batch a random contiguous window of up to ``max_events + 1`` events of the
merged timeline (all services, ``(timestamp, seq)`` order as indexed by
:class:`~byod.encoders.histories.HistoryArrays`) is drawn; the causal encoder reads its first
``L`` events and position ``t`` is trained to give the event at ``t + 1`` the highest score among
the item table (SASRec's shape: every position is a target). Items are the distinct event texts of
the training histories, embedded by the encoder's own input map
(:meth:`~byod.encoders.sequence.SequenceEncoder.embed_items`: text vector, optionally whitened,
projected, plus an optional hashed id embedding). The loss is
:class:`~byod.losses.SampledSoftmaxLoss`: a softmax over all items when the table is small, else
in-batch + uniformly drawn negatives with the logQ correction.

Two options are for merged timelines of several services. A model built with
``encoder.service_query`` is told the service of each event it predicts (its query is
:meth:`~byod.encoders.sequence.SequenceEncoder.query` of the state and that service; one query in
ten is not told, so the model also answers "which item next, in any service"). With
``loss.within_service`` each target competes only with the items of its own service (the others'
logits are masked), the question a per-service ranking asks.

Targets only ever come from the histories given, so pretraining on the history side of a split
(:func:`byod.data.splits.events_before`) never predicts an event at or after its split point.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from byod.encoders.histories import Batch, HistoryArrays, View, collate
from byod.errors import ConfigError
from byod.losses import SampledSoftmaxLoss, sample_candidates
from byod.pretrain.base import Embed, Objective
from byod.pretrain.views import random_span

__all__ = ["NextItemViews", "NextItemObjective", "item_services"]

QUERY_DROP = 0.1  # share of training queries not told their service (index 0, "unknown")


def item_services(arrays: HistoryArrays) -> np.ndarray:
    """``(T,)`` service index of each event text (the last service it occurs in wins)."""
    per_history = np.diff(arrays.offsets)
    owner = np.repeat(arrays.hist_service, per_history)
    out = np.zeros(len(arrays.vectors), dtype=np.int64)
    out[arrays.events] = owner
    return out


@dataclasses.dataclass(frozen=True)
class NextItemViews:
    """Random timeline windows: inputs and their next events.

    Attributes:
        max_events: the longest input (the window holds one event more).
        min_events: the shortest window (a shorter timeline is taken whole).
        target_services: only next events of these services are targets (empty: every
            service). The inputs still hold every service's events: the other services'
            history informs the prediction without the model spending its capacity (and the
            softmax) on predicting them.
    """

    max_events: int = 64
    min_events: int = 8
    target_services: tuple[str, ...] = ()

    def _target_mask(self, arrays: HistoryArrays) -> np.ndarray | None:
        """``(n_services,)`` bool: which service indices give targets (None: all)."""
        if not self.target_services:
            return None
        unknown = sorted(set(self.target_services) - set(arrays.services))
        if unknown:
            raise ConfigError(
                f"views.target_services: no events of service(s) {unknown}; "
                f"the histories have {[s for s in arrays.services if s != '<unknown>']}"
            )
        return np.isin(np.array(arrays.services), self.target_services)

    def eligible(self, arrays: HistoryArrays) -> np.ndarray:
        """Users with at least two events (one input, one target)."""
        lengths = np.array([arrays.timeline_length(u) for u in range(len(arrays.user_ids))])
        return np.flatnonzero(lengths >= 2)

    def window(self, arrays: HistoryArrays, user: int, rng: np.random.Generator) -> View:
        """A random contiguous window of ``user``'s timeline, 2 to ``max_events + 1`` events."""
        n = arrays.timeline_length(user)
        lo = max(2, self.min_events + 1)
        return arrays.timeline(user, *random_span(n, lo, self.max_events + 1, rng))

    def batch(
        self, arrays: HistoryArrays, users: np.ndarray, rng: np.random.Generator
    ) -> tuple[Batch, torch.Tensor]:
        """Inputs ``(B, L)`` and targets ``(B, L)`` (text index of the next event; -1: none)."""
        windows = [self.window(arrays, int(u), rng) for u in users]
        inputs = [View(w.events[:-1], w.days[:-1], w.service[:-1]) for w in windows]
        batch = collate(inputs)
        targets = torch.full(batch.events.shape, -1, dtype=torch.int64)
        allowed = self._target_mask(arrays)
        for i, w in enumerate(windows):
            nxt = w.events[1:].copy()
            if allowed is not None:
                nxt[~allowed[w.service[1:]]] = -1
            targets[i, : len(w.events) - 1] = torch.from_numpy(nxt)
        return batch, targets


class NextItemObjective(Objective):
    """Causal next-event prediction over the merged timeline (softmax over the item table).

    Args:
        sampler: the timeline windows.
        loss: the (sampled) softmax loss.
        within_service: a target competes only with items of its own service.
    """

    name = "next-item"
    requirement = "users with at least two events"
    sampler_class = NextItemViews

    def __init__(
        self, sampler: NextItemViews, loss: SampledSoftmaxLoss, within_service: bool = False
    ) -> None:
        super().__init__(sampler, loss)
        self.within_service = within_service
        self._popularity: np.ndarray | None = None
        self._item_service: torch.Tensor | None = None

    @classmethod
    def build(
        cls, max_events: int, views: dict[str, Any] | None = None, **loss: Any
    ) -> NextItemObjective:
        """From the shared view options and loss settings.

        Loss keys: ``negatives``, ``full_below``, ``within_service``.
        """
        known = {f.name for f in dataclasses.fields(NextItemViews)}
        options = {k: v for k, v in (views or {}).items() if k in known}
        if isinstance(options.get("target_services"), str):
            options["target_services"] = (options["target_services"],)
        options["target_services"] = tuple(options.get("target_services") or ())
        args = {"n_negatives": int(loss.get("negatives", 4096))}
        if "full_below" in loss:
            args["full_below"] = int(loss["full_below"])
        return cls(
            NextItemViews(max_events=max_events, **options),
            SampledSoftmaxLoss(**args),
            within_service=bool(loss.get("within_service", False)),
        )

    def eligible(self, arrays: HistoryArrays) -> np.ndarray:
        """Users with at least two events.

        Also counts item popularity (for the sampled softmax) and each item's service (for
        service queries and ``within_service``).
        """
        counts = np.bincount(arrays.events, minlength=len(arrays.vectors)).astype(np.float64)
        self._popularity = counts / max(counts.sum(), 1.0)
        self._item_service = torch.from_numpy(item_services(arrays))
        return self.sampler.eligible(arrays)

    def _asked(self, embed: Embed, targets: torch.Tensor) -> torch.Tensor | None:
        """``(N,)`` service of each target (None: the model takes no service query).

        In training a share ``QUERY_DROP`` of them is 0 (unknown).
        """
        if not embed.model.config.service_query:
            return None
        service = self._item_service.to(targets.device)[targets]
        if embed.model.training:
            drop = torch.rand(service.shape, device=service.device) < QUERY_DROP
            service = service.masked_fill(drop, 0)
        return service

    def _excluded(
        self, targets: torch.Tensor, candidates: torch.Tensor | None
    ) -> torch.Tensor | None:
        """``(N, M)`` True where a candidate is of another service than the target."""
        if not self.within_service:
            return None
        services = self._item_service.to(targets.device)
        columns = services if candidates is None else services[candidates]
        return columns.unsqueeze(0) != services[targets].unsqueeze(1)

    def _loss(
        self,
        embed: Embed,
        batch: Batch,
        targets: torch.Tensor,
        candidates: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> torch.Tensor:
        """Mean cross-entropy over the real target positions of ``batch``.

        Queries are divided by ``sqrt(dim)`` (as attention logits are): both sides are
        layer-normed, so raw dot products start near ``dim`` and the softmax saturates.
        """
        states = embed.states(batch)
        keep = targets >= 0
        t = targets[keep].to(states.device)
        queries = embed.query(states[keep.to(states.device)], self._asked(embed, t))
        queries = (queries / queries.shape[-1] ** 0.5).float()
        if candidates is None:
            return self.loss(queries, t, embed.items().float(), exclude=self._excluded(t, None))
        cand, log_q = (x.to(states.device) for x in candidates)
        items = embed.items(cand).float()
        return self.loss(queries, t, items, cand, log_q, exclude=self._excluded(t, cand))

    @staticmethod
    def _units(targets: torch.Tensor) -> int:
        """What the loss averages over: here every target position."""
        return int((targets >= 0).sum())

    def _sampling(self) -> tuple[int, int]:
        """(uniform negatives, largest table that gets the full softmax)."""
        return self.loss.n_negatives, self.loss.full_below

    def _candidates(
        self, arrays: HistoryArrays, targets: torch.Tensor, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        n_items = len(arrays.vectors)
        n_negatives, full_below = self._sampling()
        if not n_negatives or n_items <= full_below:
            return None
        if self._popularity is None or len(self._popularity) != n_items:
            self.eligible(arrays)
        t = targets[targets >= 0].numpy()
        cand, log_q = sample_candidates(t, n_items, n_negatives, self._popularity, rng)
        return torch.from_numpy(cand), torch.from_numpy(log_q)

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
        """Back-propagate ``weight`` x the mean next-event loss, ``chunk_size`` users at a time.

        Targets are independent given the shared candidate set, so the chunks' losses, each
        weighted by its share of the target positions, add up to the whole batch's loss.
        """
        batch, targets = self.sampler.batch(arrays, users, rng)
        candidates = self._candidates(arrays, targets, rng)
        n_total = self._units(targets)
        if not n_total:  # no window of this batch reached a target service's event
            return 0.0
        ctx = autocast if autocast is not None else contextlib.nullcontext
        total = 0.0
        for start in range(0, len(batch), chunk_size):
            part, tpart = (
                batch.slice(start, start + chunk_size),
                targets[start : start + chunk_size],
            )
            # the chunk's share of what the loss averages over (``_units``: target positions
            # here, rows with targets for ``future``); counting positions for ``future`` scaled
            # its loss and gradient by ~horizon (train loss 50 against validation 9.5)
            share = self._units(tpart) / n_total
            if not share:
                continue
            with ctx():
                loss = weight * share * self._loss(embed, part, tpart, candidates)
            loss.backward()
            total += float(loss.detach())
        return total

    @torch.no_grad()
    def batch_loss(
        self,
        embed: Embed,
        arrays: HistoryArrays,
        users: np.ndarray,
        rng: np.random.Generator,
        chunk_size: int,
    ) -> float:
        """The mean next-event loss of one batch of ``users``, without gradients."""
        batch, targets = self.sampler.batch(arrays, users, rng)
        candidates = self._candidates(arrays, targets, rng)
        n_total = self._units(targets)
        total = 0.0
        for start in range(0, len(batch), chunk_size):
            tpart = targets[start : start + chunk_size]
            n = self._units(tpart)
            if n:
                part = batch.slice(start, start + chunk_size)
                total += n / n_total * float(self._loss(embed, part, tpart, candidates))
        return total
