from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from byod.data.serialize import serialize
from byod.data.splits import leave_one_out, time_cut
from byod.encoders.histories import HistoryArrays
from byod.pretrain.views import ClueViews, NextViews, SimclrViews, make_sampler


@pytest.fixture(scope="module")
def arrays(histories, backbone) -> HistoryArrays:
    return HistoryArrays.build(histories, backbone)


def _text_ids(arrays: HistoryArrays, user: int) -> set[int]:
    hs = arrays.by_user[user]
    return {int(e) for h in hs for e in arrays.events[arrays.offsets[h] : arrays.offsets[h + 1]]}


def test_clue_pairs_two_different_services_of_one_user(arrays) -> None:
    rng = np.random.default_rng(0)
    sampler = ClueViews(max_events=8)
    for user in sampler.eligible(arrays)[:20]:
        a, b = sampler.pair(arrays, int(user), rng)
        assert a.service != b.service
        assert set(a.events) | set(b.events) <= _text_ids(arrays, int(user))
        assert len(a.events) <= 8


def test_next_views_split_in_time(arrays) -> None:
    rng = np.random.default_rng(1)
    sampler = NextViews()
    for user in sampler.eligible(arrays)[:20]:
        past, future = sampler.pair(arrays, int(user), rng)
        assert len(past.events) and len(future.events)
        assert past.days.max() < future.days.min()


def test_simclr_views_are_non_empty_augmentations(arrays) -> None:
    rng = np.random.default_rng(2)
    sampler = SimclrViews(substitute=0.0)
    for user in sampler.eligible(arrays)[:20]:
        a, b = sampler.pair(arrays, int(user), rng)
        assert len(a.events) >= 1 and len(b.events) >= 1
        assert set(a.events) | set(b.events) <= _text_ids(arrays, int(user))


@pytest.mark.parametrize("objective", ["clue", "simclr", "next"])
def test_views_never_leak_events_across_a_split(events, backbone, objective) -> None:
    """Pretraining on the history side of a split sees nothing at or after the split point."""
    cut = datetime(2024, 1, 12, tzinfo=UTC)
    for history in (leave_one_out(events).history, time_cut(events, cut).history):
        arrays = HistoryArrays.build(serialize(history), backbone)
        limits = history.group_by("user_id").agg(pl.col("timestamp").max())
        last_day = {
            u: t.timestamp() / 86_400
            for u, t in zip(limits["user_id"], limits["timestamp"], strict=True)
        }
        sampler = make_sampler(objective, 64)
        rng = np.random.default_rng(3)
        for user in sampler.eligible(arrays):
            for view in sampler.pair(arrays, int(user), rng):
                assert view.days.max() <= last_day[arrays.user_ids[user]] + 1e-9
    assert (time_cut(events, cut).history["timestamp"] < cut).all()
