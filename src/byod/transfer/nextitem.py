"""Next-item protocol: leave-one-out by time, sampled and full ranking, user segments.

The split is the one of :mod:`byod.data.splits`: interactions are ordered per user by
``(timestamp, seq)`` (``seq`` is the row in the original input: MovieLens ties a lot, so the
timestamp alone does not say which of two same-second events came last). The last interaction is
the test target, the one before it the validation target, and the ``n_train`` before those are
extra training targets (:func:`~byod.data.splits.leave_one_out_roles`). Features for a target may
only use events ordered before it (:func:`events_before_targets`, the same cutoff rule as
:func:`~byod.data.splits.events_before`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from byod.data.schema import validate
from byod.data.serialize import SerializeConfig, serialize
from byod.data.splits import events_before, leave_one_out_roles
from byod.errors import ByodError
from byod.transfer.metrics import ranking_metrics, truth_ranks

__all__ = [
    "model_scores",
    "item_event_texts",
    "NextItemTask",
    "next_item_task",
    "events_before_targets",
    "evaluate_scores",
    "RECOMMEND_COLUMNS",
]

if TYPE_CHECKING:
    from byod.encoders.user import UserEncoder

RECOMMEND_COLUMNS = ["source", "protocol", "segment", "metric", "value", "n_users"]
# Events strictly before each user's target by (timestamp, seq): the data layer's one cutoff rule.
events_before_targets = events_before


@dataclasses.dataclass
class NextItemTask:
    """Everything a next-item evaluation needs, shared by every method in a run.

    Attributes:
        items: ``item_id, item_text, index`` for every item (``index`` = column in score matrices).
        ordered: all interactions in ``(user_id, timestamp, seq)`` order with ``position`` (0-based
            per user), ``index`` and ``role`` (``test``, ``valid``, ``train-k`` or ``history``).
        targets: the target rows of ``ordered`` (one per user and role).
        test_users: user ids of the test targets, in the row order of every score matrix.
        negatives: ``(n_test_users, n_negatives)`` item indices never touched by that user.
        seen_before_test: ``(n_test_users, n_items)`` bool, items the user had before the test
            (removed from the full ranking, except the truth itself: repeats are ranked).
        segment: ``(n_test_users,)`` ``cold`` / ``heavy`` / ``middle`` by events before the test.

    """

    items: pl.DataFrame
    ordered: pl.DataFrame
    targets: pl.DataFrame
    test_users: list[str]
    negatives: np.ndarray
    seen_before_test: np.ndarray
    segment: np.ndarray

    def role(self, role: str) -> pl.DataFrame:
        """Targets of one role (``test``, ``valid``, ``train-1`` ...), in user order."""
        return self.targets.filter(pl.col("role") == role).sort("user_id")

    @property
    def test(self) -> pl.DataFrame:
        """Test targets, in the row order of score matrices."""
        return self.role("test")

    @property
    def history(self) -> pl.DataFrame:
        """Interactions before every user's validation target (what baselines may count)."""
        return self.ordered.filter(~pl.col("role").is_in(["test", "valid"]))

    def subset(self, users: list[str] | pl.Series) -> NextItemTask:
        """The same protocol evaluated on some test users only (a held-out user split).

        Everything per test user (targets, negatives, seen items, segments) is kept for those
        users, in this task's order; ``items`` and ``ordered`` stay whole, so baselines still count
        every user's history and segments keep their population-wide thresholds.

        Raises:
            ByodError: none of ``users`` has a test target.

        """
        wanted = set(users)
        keep = np.array([u in wanted for u in self.test_users], dtype=bool)
        if not keep.any():
            raise ByodError("none of the given users has a next-item test target")
        kept = [u for u, k in zip(self.test_users, keep, strict=True) if k]
        return dataclasses.replace(
            self,
            targets=self.targets.filter(pl.col("user_id").is_in(kept)),
            test_users=kept,
            negatives=self.negatives[keep],
            seen_before_test=self.seen_before_test[keep],
            segment=self.segment[keep],
        )

    def previous_items(self, targets: pl.DataFrame) -> np.ndarray:
        """Item index of each target's preceding interaction ``(n_targets,)``, in row order.

        Args:
            targets: rows of :attr:`targets` (``user_id``, ``position``); each must follow one.

        """
        prev = (
            targets.select("user_id", position=pl.col("position") - 1)
            .with_row_index("_row")
            .join(self.ordered.select("user_id", "position", "index"), on=["user_id", "position"])
            .sort("_row")
        )
        if prev.height != targets.height:
            raise ByodError("every next-item target needs an interaction before it")
        return prev["index"].to_numpy()


def next_item_task(
    interactions: pl.DataFrame, *, n_train: int = 4, n_negatives: int = 100, seed: int = 0
) -> NextItemTask:
    """Build targets, sampled negatives and segments from an interactions table.

    Args:
        interactions: ``user_id, item_id, item_text, timestamp, seq``.
        n_train: extra training targets per user before the validation target.
        n_negatives: uniformly sampled items per test user that the user never interacted with.
        seed: seeds the negative sampling.

    """
    interactions = validate(interactions, "interactions")
    if interactions["seq"].null_count():
        raise ByodError("interactions need `seq` (the input row) to order same-second events")
    items = (
        interactions.group_by("item_id")
        .agg(pl.col("item_text").first())
        .sort("item_id")
        .with_row_index("index")
        .with_columns(pl.col("index").cast(pl.Int64))
    )
    ordered = _ordered(interactions, items, n_train)
    targets = ordered.filter(pl.col("role") != "history")
    test = targets.filter(pl.col("role") == "test").sort("user_id")
    if test.is_empty():
        raise ByodError("no user has the 3 interactions a leave-one-out split needs")
    n_items = items.height
    seen_any = _user_item_mask(ordered, test["user_id"], n_items)
    seen_before = _user_item_mask(
        ordered.filter(pl.col("role") != "test"), test["user_id"], n_items
    )
    negatives = _sample_negatives(seen_any, n_negatives, seed)
    return NextItemTask(
        items=items,
        ordered=ordered,
        targets=targets,
        test_users=test["user_id"].to_list(),
        negatives=negatives,
        seen_before_test=seen_before,
        segment=_segments(test["position"].to_numpy()),
    )


def _ordered(interactions: pl.DataFrame, items: pl.DataFrame, n_train: int) -> pl.DataFrame:
    rows = interactions.select("user_id", "item_id", "timestamp", "seq")
    return leave_one_out_roles(rows, n_train=n_train).join(
        items.select("item_id", "index"), on="item_id", how="left", maintain_order="left"
    )


def _user_item_mask(rows: pl.DataFrame, users: pl.Series, n_items: int) -> np.ndarray:
    order = pl.DataFrame({"user_id": users, "row": np.arange(len(users))})
    pairs = rows.join(order, on="user_id", how="inner")
    mask = np.zeros((len(users), n_items), dtype=bool)
    mask[pairs["row"].to_numpy(), pairs["index"].to_numpy()] = True
    return mask


def _sample_negatives(seen: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` distinct unseen items per row, uniformly (rejection sampling on random keys)."""
    rng = np.random.default_rng(seed)
    if (seen.shape[1] - seen.sum(axis=1)).min() < n:
        raise ByodError(f"a user has interacted with too many items to sample {n} negatives")
    keys = rng.random(seen.shape)
    keys[seen] = np.inf
    return np.argpartition(keys, n, axis=1)[:, :n].astype(np.int64)


def _segments(n_before: np.ndarray) -> np.ndarray:
    low, high = np.quantile(n_before, [0.25, 0.75])
    return np.where(n_before <= low, "cold", np.where(n_before >= high, "heavy", "middle"))


def evaluate_scores(task: NextItemTask, scores: np.ndarray, source: str) -> pl.DataFrame:
    """Both protocols and all segments for one method's test scores.

    Args:
        task: the shared protocol.
        scores: ``(n_test_users, n_items)`` scores (higher = more likely next).
        source: the method's name in the result rows.

    Returns:
        Rows ``source, protocol, segment, metric, value, n_users`` (``RECOMMEND_COLUMNS``).

    """
    n_users, n_items = len(task.test_users), task.items.height
    if scores.shape != (n_users, n_items):
        raise ByodError(f"scores must be {(n_users, n_items)}, got {scores.shape}")
    truth = task.test["index"].to_numpy()
    sampled = np.concatenate([truth[:, None], task.negatives], axis=1)
    sampled_scores = np.take_along_axis(scores, sampled, axis=1)
    # Items seen before the test leave the full ranking, except the truth itself: a user may
    # come back to an item (repeat purchases), and that target must still be ranked.
    seen = task.seen_before_test.copy()
    seen[np.arange(n_users), truth] = False
    full = np.where(seen, -np.inf, scores).astype(np.float64)
    protocols = {
        f"sampled-{task.negatives.shape[1]}": truth_ranks(
            sampled_scores, np.zeros(n_users, dtype=np.int64)
        ),
        "full": truth_ranks(full, truth),
    }
    rows = []
    for protocol, (ranks, ties) in protocols.items():
        for segment in ("all", "cold", "heavy"):
            keep = np.ones(n_users, bool) if segment == "all" else task.segment == segment
            if not keep.any():
                continue  # e.g. every user has as many events: no cold or heavy segment
            values = ranking_metrics(ranks[keep], ties=ties[keep])
            rows += [
                {
                    "source": source,
                    "protocol": protocol,
                    "segment": segment,
                    "metric": m,
                    "value": v,
                    "n_users": int(keep.sum()),
                }
                for m, v in values.items()
            ]
    return pl.DataFrame(rows)


def model_scores(
    task: NextItemTask, encoder: UserEncoder, events: pl.DataFrame, service: str | None = None
) -> np.ndarray:
    """A ``next-item``-trained encoder's own scores ``(n_test_users, n_items)``, in task order.

    Each test user's state reads the events ordered strictly before its test target
    (:func:`events_before_targets`), written as the encoder's training texts were
    (``config.rendering``); ``score = <state, item embedding>``. The model predicts next *event
    texts*: where ``events`` name items (an ``item_id`` column) and an item's events carry other
    texts than its ``item_text`` (MovieLens writes the rating into the text: ``"... | rated
    4/5"``), an item's score is the log-sum-exp over its event texts, the log of the model's
    probability that the next event is any of them; otherwise the item is its ``item_text``.
    The matrix goes to :func:`evaluate_scores` as a source beside the recommendation heads.
    ``service``: the service the task's items belong to (the query of a model trained with
    ``encoder.service_query``; None: not said).

    Raises:
        ByodError: the encoder was not trained with ``next-item``, or a test user has no event
            before its target.
    """
    before = events_before_targets(events, task.test.select("user_id", "timestamp", "seq"))
    rendering = encoder.config.rendering or {}
    histories = serialize(before, SerializeConfig(max_events=None, **rendering))
    texts, owner = item_event_texts(task, events)
    users, scores = encoder.next_item_scores(histories, texts, service=service)
    row = {u: i for i, u in enumerate(users)}
    missing = [u for u in task.test_users if u not in row]
    if missing:
        raise ByodError(
            f"{len(missing)} test users have no event before their target, e.g. {missing[:3]}"
        )
    scores = scores[[row[u] for u in task.test_users]]
    if len(texts) != task.items.height or (owner != np.arange(len(owner))).any():
        scores = _logsumexp_by(scores, owner, task.items.height)
    return scores.astype(np.float32)


def item_event_texts(task: NextItemTask, events: pl.DataFrame) -> tuple[list[str], np.ndarray]:
    """Every text an item of ``task.items`` appears as, and its item's row: ``(texts, (T,))``.

    An item's texts are those its events carry (through ``item_id``); an item with no event
    text (or events without ``item_id``) is its ``item_text``. Its ``item_text`` is not added
    beside event texts: the model never saw it as an event, so it would only add mass.
    """
    items = task.items.select("item_id", "item_text").with_row_index("row")
    own = items.select("row", text="item_text")
    if "item_id" not in events.columns:
        return own["text"].to_list(), own["row"].to_numpy().astype(np.int64)
    seen = events.select("item_id", "text").unique().join(items, on="item_id").select("row", "text")
    texts = pl.concat([seen.cast({"row": own.schema["row"]}),
                       own.join(seen, on="row", how="anti")]).sort("row", "text")  # fmt: skip
    return texts["text"].to_list(), texts["row"].to_numpy().astype(np.int64)


def _logsumexp_by(scores: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """``(U, T)`` scores of texts -> ``(U, n)``: log-sum-exp over the texts of each owner.

    Every owner ``0..n-1`` has at least one text (:func:`item_event_texts` puts each item's
    own text first), so the sorted runs start where the owner changes.
    """
    order = np.argsort(owner, kind="stable")
    sorted_scores = scores[:, order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, np.diff(owner[order]) != 0])
    if len(starts) != n:
        raise ValueError(f"expected texts for {n} items, got {len(starts)}")
    peak = np.maximum.reduceat(sorted_scores, starts, axis=1)
    runs = np.repeat(np.arange(n), np.diff(np.r_[starts, len(order)]))
    total = np.add.reduceat(np.exp(sorted_scores - peak[:, runs]), starts, axis=1)
    return peak + np.log(total)
