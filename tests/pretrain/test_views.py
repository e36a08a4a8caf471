from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from byod.data.serialize import serialize
from byod.data.splits import leave_one_out, time_cut
from byod.encoders.histories import HistoryArrays
from byod.pretrain.views import (
    ClueViews,
    NextViews,
    SimclrViews,
    SlicesViews,
    make_sampler,
    random_span,
)


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


@pytest.mark.parametrize("objective", ["clue", "slices", "simclr", "next"])
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


def test_random_span_stays_inside_and_respects_the_bounds() -> None:
    rng = np.random.default_rng(0)
    seen = set()
    for n in (1, 2, 5, 8, 9, 30, 200):
        for _ in range(200):
            start, stop = random_span(n, 8, 16, rng)
            assert 0 <= start < stop <= n
            assert min(8, n) <= stop - start <= min(16, n)
            seen.add((n, stop - start))
    assert (200, 8) in seen and (200, 16) in seen  # both ends of the length range occur


def _is_contiguous_run(inner: np.ndarray, outer: np.ndarray) -> bool:
    k = len(inner)
    return any(np.array_equal(outer[i : i + k], inner) for i in range(len(outer) - k + 1))


def test_clue_random_slices_are_contiguous_slices_of_one_history(arrays) -> None:
    rng = np.random.default_rng(4)
    sampler = ClueViews(max_events=6, min_events=3)
    lengths = set()
    for user in sampler.eligible(arrays):
        for view in sampler.pair(arrays, int(user), rng):
            h = next(h for h in arrays.by_user[int(user)] if arrays.hist_service[h] == view.service)
            full = arrays.view(int(h))
            n = len(full.events)
            assert min(3, n) <= len(view.events) <= min(6, n)
            assert _is_contiguous_run(view.days, full.days)
            assert _is_contiguous_run(view.events, full.events)
            lengths.add(len(view.events))
    assert len(lengths) > 1  # random lengths, not always the last 6


def test_clue_without_random_slices_is_the_last_events(arrays) -> None:
    rng = np.random.default_rng(0)
    sampler = ClueViews(max_events=5, random_slices=False)
    user = int(sampler.eligible(arrays)[0])
    for view in sampler.pair(arrays, user, rng):
        h = next(h for h in arrays.by_user[user] if arrays.hist_service[h] == view.service)
        np.testing.assert_array_equal(view.events, arrays.view(int(h), 5).events)


def test_slices_are_contiguous_runs_of_the_merged_timeline(arrays) -> None:
    rng = np.random.default_rng(5)
    sampler = SlicesViews(max_events=10, min_events=4)
    mixed = 0
    for user in sampler.eligible(arrays):
        timeline = arrays.timeline(int(user))
        assert len(timeline.events) == sum(
            arrays.offsets[h + 1] - arrays.offsets[h] for h in arrays.by_user[int(user)]
        )
        assert (np.diff(timeline.days) >= 0).all()  # time order over all services
        for view in sampler.pair(arrays, int(user), rng):
            assert 4 <= len(view.events) <= 10
            assert _is_contiguous_run(view.events, timeline.events)
            mixed += len(set(view.service.tolist())) > 1
    assert mixed > 0  # views mix services, each event keeping its own


def test_slices_work_with_a_single_service(events, backbone) -> None:
    one = events.with_columns(service=pl.lit("shop"))
    arrays = HistoryArrays.build(serialize(one), backbone)
    sampler = SlicesViews(max_events=8)
    users = sampler.eligible(arrays)
    assert len(users) == len(arrays.user_ids)
    assert len(ClueViews().eligible(arrays)) == 0
    a, b = sampler.pair(arrays, int(users[0]), np.random.default_rng(0))
    assert len(a.events) and len(b.events)
