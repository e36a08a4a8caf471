"""Histories as flat arrays over a table of distinct event-text vectors.

``HistoryArrays.build`` turns a histories table (``HISTORY_SCHEMA``) into numpy arrays: every
event is an index into ``vectors`` (one row per distinct event text), so a batch of views is a
gather, not a re-encoding. ``collate`` pads views into the tensors the sequence encoder reads.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import polars as pl
import torch

from byod.data.schema import validate
from byod.encoders.backbone import TextBackbone
from byod.encoders.cache import EmbeddingCache, encode_unique
from byod.encoders.hashing import hash_keys

__all__ = ["HistoryArrays", "View", "Batch", "collate"]

_US_PER_DAY = 86_400 * 1_000_000


@dataclasses.dataclass
class View:
    """One (possibly augmented) slice of a history: event indices, their times, the service.

    ``service`` is one service index for a single-service view, or an ``(L,)`` array of each
    event's service for a slice of a user's merged timeline.
    """

    events: np.ndarray  # (L,) int64 indices into HistoryArrays.vectors
    days: np.ndarray  # (L,) float64 days since the epoch
    service: int | np.ndarray


@dataclasses.dataclass
class Batch:
    """Padded views. ``events``/``mask``/``recency``/``service``: (B, L)."""

    events: torch.Tensor
    mask: torch.Tensor
    recency: torch.Tensor
    service: torch.Tensor

    def to(self, device: torch.device | str) -> Batch:
        """Move every tensor to ``device``."""
        return Batch(*(getattr(self, f.name).to(device) for f in dataclasses.fields(self)))

    def __len__(self) -> int:
        return self.events.shape[0]

    def slice(self, start: int, stop: int) -> Batch:
        """Rows ``start:stop`` of the batch."""
        return Batch(*(getattr(self, f.name)[start:stop] for f in dataclasses.fields(self)))


@dataclasses.dataclass
class HistoryArrays:
    """All histories of a table, flattened.

    Attributes:
        user_ids: distinct users, in first-seen order.
        hist_user: (H,) user index of each history.
        hist_service: (H,) service index of each history (into ``services``).
        offsets: (H + 1,) history ``h`` owns ``events[offsets[h]:offsets[h + 1]]``.
        events: (E,) int64 index into ``vectors`` per event, oldest first within a history.
        days: (E,) float64 event times in days since the epoch.
        vectors: (T, dim) float32, one row per distinct event text.
        services: service names; index 0 is reserved for services unknown to a model.
        texts: the distinct event texts, one per row of ``vectors`` (the item keys that hashed
            item ids are built from); None when unknown.
    """

    user_ids: list[str]
    hist_user: np.ndarray
    hist_service: np.ndarray
    offsets: np.ndarray
    events: np.ndarray
    days: np.ndarray
    vectors: np.ndarray
    services: list[str]
    texts: list[str] | None = None

    @classmethod
    def build(
        cls,
        histories: pl.DataFrame,
        backbone: TextBackbone,
        *,
        cache: EmbeddingCache | None = None,
        services: list[str] | None = None,
        batch_size: int = 64,
        progress: bool = False,
    ) -> HistoryArrays:
        """Encode the distinct event texts of ``histories`` and index every event.

        Args:
            histories: a histories table.
            backbone: encodes event texts.
            cache: reuse / store event-text vectors.
            services: a fixed service vocabulary (a trained model's); ``None`` builds one.
            batch_size: backbone batch size.
            progress: show the backbone's progress bar.
        """
        histories = validate(histories, "histories").sort("user_id", "service")
        flat = histories.select(
            pl.col("event_texts").explode().alias("text"),
            pl.col("event_timestamps").explode().dt.epoch("us").alias("us"),
        )
        uniq = flat["text"].unique(maintain_order=True)
        vectors = encode_unique(
            uniq.to_list(), backbone, cache, batch_size=batch_size, progress=progress
        )
        events = flat["text"].replace_strict(uniq, pl.int_range(uniq.len(), eager=True)).to_numpy()
        if services is None:
            services = ["<unknown>", *sorted(histories["service"].unique().to_list())]
        lookup = {s: i for i, s in enumerate(services)}
        users = histories["user_id"].unique(maintain_order=True)
        user_index = {u: i for i, u in enumerate(users.to_list())}
        counts = histories["n_events"].to_numpy()
        return cls(
            user_ids=users.to_list(),
            hist_user=np.array(
                [user_index[u] for u in histories["user_id"].to_list()], dtype=np.int64
            ),
            hist_service=np.array(
                [lookup.get(s, 0) for s in histories["service"].to_list()], dtype=np.int64
            ),
            offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            events=events.astype(np.int64),
            days=flat["us"].to_numpy().astype(np.float64) / _US_PER_DAY,
            vectors=vectors,
            services=services,
            texts=uniq.to_list(),
        )

    def item_keys(self) -> np.ndarray:
        """Hashed item key ``(T,)`` int64 of every distinct event text (row of ``vectors``)."""
        if self.texts is None:
            raise ValueError("these history arrays were built without their event texts")
        return hash_keys(self.texts)

    @property
    def n_histories(self) -> int:
        """Number of (user, service) histories."""
        return len(self.hist_user)

    @functools.cached_property
    def by_user(self) -> list[np.ndarray]:
        """For each user index, the indices of its histories."""
        order = np.argsort(self.hist_user, kind="stable")
        bounds = np.searchsorted(self.hist_user[order], np.arange(len(self.user_ids) + 1))
        return [order[bounds[u] : bounds[u + 1]] for u in range(len(self.user_ids))]

    def view(self, h: int, max_events: int | None = None) -> View:
        """History ``h`` as a view, its most recent ``max_events`` events."""
        n = int(self.offsets[h + 1] - self.offsets[h])
        start = 0 if max_events is None else max(0, n - max_events)
        return self.slice(h, start, n)

    def slice(self, h: int, start: int, stop: int) -> View:
        """Events ``start:stop`` (0 = oldest) of history ``h``; never outside the history."""
        lo, hi = int(self.offsets[h]), int(self.offsets[h + 1])
        a, b = min(hi, lo + max(start, 0)), min(hi, lo + max(stop, 0))
        return View(self.events[a:b], self.days[a:b], int(self.hist_service[h]))

    @functools.cached_property
    def _timeline(self) -> tuple[np.ndarray, np.ndarray]:
        # Every event's position, ordered by (user, time); stable, so same-time events keep their
        # history order. ``bounds[u]:bounds[u + 1]`` of the order is user ``u``'s timeline.
        event_hist = np.repeat(np.arange(self.n_histories), np.diff(self.offsets))
        event_user = self.hist_user[event_hist]
        order = np.lexsort((self.days, event_user))
        bounds = np.searchsorted(event_user[order], np.arange(len(self.user_ids) + 1))
        return order, bounds

    @functools.cached_property
    def _event_service(self) -> np.ndarray:
        return np.repeat(self.hist_service, np.diff(self.offsets))

    def without_last_events(self) -> tuple[HistoryArrays, np.ndarray]:
        """Every user's timeline minus its last event, and that event: ``(arrays, (U,) int64)``.

        The last event of a merged timeline is the last of one of the user's histories (each is
        in time order), so only that history shrinks. Users need at least one event; a user left
        with none keeps its (empty) histories. The second array is the removed event's text row
        (``vectors`` / ``texts`` are shared, unchanged).
        """
        order, bounds = self._timeline
        if (np.diff(bounds) < 1).any():
            raise ValueError("every user needs at least one event")
        last = order[bounds[1:] - 1]  # (U,) position in ``events`` of each user's last event
        keep = np.ones(len(self.events), dtype=bool)
        keep[last] = False
        event_hist = np.repeat(np.arange(self.n_histories), np.diff(self.offsets))
        counts = np.bincount(event_hist[keep], minlength=self.n_histories)
        trimmed = dataclasses.replace(
            self,
            offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            events=self.events[keep],
            days=self.days[keep],
        )
        return trimmed, self.events[last].astype(np.int64)

    def timeline_length(self, user: int) -> int:
        """Number of events of ``user`` over all services."""
        bounds = self._timeline[1]
        return int(bounds[user + 1] - bounds[user])

    def timeline(self, user: int, start: int = 0, stop: int | None = None) -> View:
        """Events ``start:stop`` (0 = oldest) of ``user``'s merged timeline (all services).

        Each event keeps its own service index (``View.service`` is an array).
        """
        order, bounds = self._timeline
        lo, hi = int(bounds[user]), int(bounds[user + 1])
        stop = hi - lo if stop is None else stop
        idx = order[min(hi, lo + max(start, 0)) : min(hi, lo + max(stop, 0))]
        return View(self.events[idx], self.days[idx], self._event_service[idx])


def collate(views: list[View]) -> Batch:
    """Pad ``views`` (left-aligned) into a :class:`Batch`.

    Recency is counted in days before each view's last event.
    """
    length = max(1, max(len(v.events) for v in views))
    n = len(views)
    events = np.zeros((n, length), dtype=np.int64)
    mask = np.zeros((n, length), dtype=bool)
    recency = np.zeros((n, length), dtype=np.float32)
    for i, v in enumerate(views):
        k = len(v.events)
        events[i, :k] = v.events
        mask[i, :k] = True
        if k:
            recency[i, :k] = v.days[-1] - v.days
    service = np.zeros((n, length), dtype=np.int64)
    for i, v in enumerate(views):
        service[i, : len(v.events)] = v.service  # a scalar broadcasts; an array is per event
    return Batch(
        torch.from_numpy(events),
        torch.from_numpy(mask),
        torch.from_numpy(recency),
        torch.from_numpy(service),
    )
