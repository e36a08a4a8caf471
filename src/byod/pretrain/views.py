"""Pair samplers: the positive pairs that define each pretraining objective.

Each sampler turns one user into two views (:class:`~byod.encoders.histories.View`) that should
embed close together; the other users of the batch are the negatives.

- ``clue``: the same user's histories in **two different services** (CLUE). No hand-made
  augmentation: the services themselves are the views; each is a random contiguous slice of its
  service's history (CoLES-style: random length within bounds, random start), or, with
  ``random_slices=False``, always its most recent ``max_events`` events.
- ``slices``: CoLES: two random contiguous slices of one user's **merged timeline** (all
  services); works with a single service.
- ``simclr``: two augmentations of one history: a random time-window crop, random deletion,
  substitution by another event text, local reordering.
- ``next``: the events before a random split time against the events from that time on.

Views only ever hold events of the histories they are given, so pretraining on the history side
of a split never sees an event at or after the split point.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

from byod.encoders.histories import HistoryArrays, View

__all__ = [
    "PairSampler",
    "ClueViews",
    "SlicesViews",
    "SimclrViews",
    "NextViews",
    "OBJECTIVES",
    "make_sampler",
    "random_span",
]


class PairSampler(Protocol):
    """Makes a positive pair of views for a user."""

    def eligible(self, arrays: HistoryArrays) -> np.ndarray:
        """User indices this objective can make a pair for."""
        ...

    def pair(self, arrays: HistoryArrays, user: int, rng: np.random.Generator) -> tuple[View, View]:
        """Two views of ``user``."""
        ...


def _hist_sizes(arrays: HistoryArrays) -> np.ndarray:
    return np.diff(arrays.offsets)


def random_span(
    n: int, min_events: int, max_events: int, rng: np.random.Generator
) -> tuple[int, int]:
    """A random contiguous ``[start, stop)`` inside ``0:n`` (CoLES' random slice).

    The length is uniform in ``[min(min_events, n), min(max_events, n)]``, the start uniform
    among the positions where a slice of that length fits, so a slice never leaves ``0:n``.
    """
    hi = min(max_events, n)
    lo = min(min_events, hi)
    length = int(rng.integers(lo, hi + 1))
    start = int(rng.integers(0, n - length + 1))
    return start, start + length


@dataclasses.dataclass(frozen=True)
class ClueViews:
    """Two different services of one user.

    Attributes:
        max_events: the longest view.
        min_events: the shortest random slice (a shorter history is taken whole).
        random_slices: random contiguous slices; False: always the most recent ``max_events``.
    """

    max_events: int = 64
    min_events: int = 8
    random_slices: bool = True

    def eligible(self, arrays: HistoryArrays) -> np.ndarray:
        """Users with events in at least two services."""
        sizes = _hist_sizes(arrays)
        counts = np.bincount(arrays.hist_user[sizes > 0], minlength=len(arrays.user_ids))
        return np.flatnonzero(counts >= 2)

    def pair(self, arrays: HistoryArrays, user: int, rng: np.random.Generator) -> tuple[View, View]:
        """Views of two distinct, randomly chosen services of ``user``."""
        hists = _user_hists(arrays, user)
        hists = hists[_hist_sizes(arrays)[hists] > 0]
        h1, h2 = rng.choice(hists, size=2, replace=False)
        return self._view(arrays, int(h1), rng), self._view(arrays, int(h2), rng)

    def _view(self, arrays: HistoryArrays, h: int, rng: np.random.Generator) -> View:
        if not self.random_slices:
            return arrays.view(h, self.max_events)
        n = int(arrays.offsets[h + 1] - arrays.offsets[h])
        return arrays.slice(h, *random_span(n, self.min_events, self.max_events, rng))


@dataclasses.dataclass(frozen=True)
class SlicesViews:
    """CoLES: two independent random contiguous slices of one user's merged timeline.

    The slices may overlap (as in CoLES); each event keeps its own service.

    Attributes:
        max_events: the longest slice.
        min_events: the shortest slice (a shorter timeline is taken whole).
    """

    max_events: int = 64
    min_events: int = 8

    def eligible(self, arrays: HistoryArrays) -> np.ndarray:
        """Users with at least two events over all services."""
        lengths = np.array([arrays.timeline_length(u) for u in range(len(arrays.user_ids))])
        return np.flatnonzero(lengths >= 2)

    def pair(self, arrays: HistoryArrays, user: int, rng: np.random.Generator) -> tuple[View, View]:
        """Two random slices of the user's timeline."""
        n = arrays.timeline_length(user)
        spans = [random_span(n, self.min_events, self.max_events, rng) for _ in range(2)]
        return arrays.timeline(user, *spans[0]), arrays.timeline(user, *spans[1])


@dataclasses.dataclass(frozen=True)
class SimclrViews:
    """Two augmentations of one randomly chosen history of the user.

    Attributes:
        max_events: events per view after augmentation.
        min_crop: the time-window crop keeps at least this fraction of the events.
        delete: probability of dropping each event.
        substitute: probability of replacing an event's text by a random other event text.
        reorder: probability of swapping an event with its successor.
    """

    max_events: int = 64
    min_crop: float = 0.5
    delete: float = 0.1
    substitute: float = 0.05
    reorder: float = 0.1

    def eligible(self, arrays: HistoryArrays) -> np.ndarray:
        """Users with a history of at least two events."""
        big = _hist_sizes(arrays) >= 2
        return np.unique(arrays.hist_user[big])

    def pair(self, arrays: HistoryArrays, user: int, rng: np.random.Generator) -> tuple[View, View]:
        """Two independent augmentations of one history."""
        hists = _user_hists(arrays, user)
        hists = hists[_hist_sizes(arrays)[hists] >= 2]
        base = arrays.view(int(rng.choice(hists)))
        return self.augment(base, len(arrays.vectors), rng), self.augment(
            base, len(arrays.vectors), rng
        )

    def augment(self, view: View, n_texts: int, rng: np.random.Generator) -> View:
        """Crop, delete, substitute, reorder; never returns an empty view."""
        n = len(view.events)
        keep = max(1, int(np.ceil(rng.uniform(self.min_crop, 1.0) * n)))
        start = int(rng.integers(0, n - keep + 1))
        events = view.events[start : start + keep].copy()
        days = view.days[start : start + keep]
        alive = rng.random(keep) >= self.delete
        if not alive.any():
            alive[rng.integers(keep)] = True
        events, days = events[alive], days[alive]
        swap = rng.random(len(events)) < self.substitute
        events[swap] = rng.integers(0, n_texts, swap.sum())
        for i in np.flatnonzero(rng.random(len(events) - 1) < self.reorder):
            events[i], events[i + 1] = events[i + 1], events[i]
        return View(events[-self.max_events :], days[-self.max_events :], view.service)


@dataclasses.dataclass(frozen=True)
class NextViews:
    """The events before a random split time vs the events from that time on (same history)."""

    max_events: int = 64

    def eligible(self, arrays: HistoryArrays) -> np.ndarray:
        """Users with a history spanning at least two distinct times."""
        ok = np.zeros(len(arrays.user_ids), dtype=bool)
        for h in np.flatnonzero(_hist_sizes(arrays) >= 2):
            d = arrays.days[arrays.offsets[h] : arrays.offsets[h + 1]]
            if d[-1] > d[0]:
                ok[arrays.hist_user[h]] = True
        return np.flatnonzero(ok)

    def pair(self, arrays: HistoryArrays, user: int, rng: np.random.Generator) -> tuple[View, View]:
        """Past window (before the split time) and future window (from it on)."""
        hists = [h for h in _user_hists(arrays, user) if _spans_time(arrays, int(h))]
        full = arrays.view(int(rng.choice(hists)))
        times = np.unique(full.days)
        cut = times[rng.integers(1, len(times))]  # past is never empty
        past, future = full.days < cut, full.days >= cut
        m = self.max_events
        return (
            View(full.events[past][-m:], full.days[past][-m:], full.service),
            View(full.events[future][:m], full.days[future][:m], full.service),
        )


def _spans_time(arrays: HistoryArrays, h: int) -> bool:
    d = arrays.days[arrays.offsets[h] : arrays.offsets[h + 1]]
    return len(d) >= 2 and d[-1] > d[0]


def _user_hists(arrays: HistoryArrays, user: int) -> np.ndarray:
    return arrays.by_user[user]


OBJECTIVES = {
    "clue": ClueViews,
    "slices": SlicesViews,
    "simclr": SimclrViews,
    "next": NextViews,
}


def make_sampler(objective: str, max_events: int, **options: object) -> PairSampler:
    """The pair sampler for ``objective`` (``clue``, ``slices``, ``simclr``, ``next``)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}")
    return OBJECTIVES[objective](max_events=max_events, **options)
