"""Pair samplers: the positive pairs that define each pretraining objective.

Each sampler turns one user into two views (:class:`~byod.encoders.histories.View`) that should
embed close together; the other users of the batch are the negatives.

- ``clue``: the same user's histories in **two different services** (CLUE). No hand-made
  augmentation: the services themselves are the views.
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

__all__ = ["PairSampler", "ClueViews", "SimclrViews", "NextViews", "OBJECTIVES", "make_sampler"]


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


@dataclasses.dataclass(frozen=True)
class ClueViews:
    """Two different services of one user, each its most recent ``max_events`` events."""

    max_events: int = 64

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
        return arrays.view(int(h1), self.max_events), arrays.view(int(h2), self.max_events)


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


OBJECTIVES = {"clue": ClueViews, "simclr": SimclrViews, "next": NextViews}


def make_sampler(objective: str, max_events: int) -> PairSampler:
    """The pair sampler for ``objective`` (``clue``, ``simclr``, ``next``)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}")
    return OBJECTIVES[objective](max_events=max_events)
