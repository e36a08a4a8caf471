"""Transfer runs: many feature sources × tasks, baselines in the same run, one result table each.

A *feature source* turns "users as of these targets" into vectors. From a trained encoder the
features are point-in-time (each target's vector comes only from events ordered before it); a
static feature table gives one vector per user and is only honest for targets after every event
it was built from.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
from rich.console import Console

from byod.encoders.backbone import TextBackbone
from byod.encoders.cache import EmbeddingCache, encode_unique
from byod.encoders.user import UserEncoder
from byod.errors import ByodError
from byod.transfer.baselines import NEXT_ITEM_BASELINES
from byod.transfer.classify import evaluate_classification, summarize, task_labels
from byod.transfer.heads import make_head
from byod.transfer.nextitem import NextItemTask, evaluate_scores, events_before_targets
from byod.transfer.recommend import RecommendConfig, RecommendHead

__all__ = [
    "FeatureSource",
    "encoder_source",
    "table_source",
    "classify_source",
    "recommend_source",
    "recommend_baselines",
    "item_vectors",
]

# targets (user_id, timestamp, seq) -> (n_targets, dim) vectors in the targets' row order
FeatureSource = Callable[[pl.DataFrame], np.ndarray]


def _align(vectors: pl.DataFrame, user_ids: pl.Series, dim: int) -> np.ndarray:
    """Vectors in ``user_ids`` order; users without a vector get zeros."""
    order = pl.DataFrame({"user_id": user_ids, "_row": np.arange(len(user_ids))})
    joined = order.join(vectors, on="user_id", how="left").sort("_row")
    out = np.zeros((len(user_ids), dim), dtype=np.float32)
    have = joined["vector"].is_not_null().to_numpy()
    if have.any():
        out[have] = np.stack(joined.filter(pl.col("vector").is_not_null())["vector"].to_numpy())
    return out


def encoder_source(encoder: UserEncoder, events: pl.DataFrame) -> FeatureSource:
    """Point-in-time features: each target's user embedded from the events before it."""
    done: dict[bytes, np.ndarray] = {}  # several heads ask for the same targets' features

    def features(targets: pl.DataFrame) -> np.ndarray:
        key = targets.select("user_id", "timestamp", "seq").hash_rows(seed=0).to_numpy().tobytes()
        if key not in done:
            cut = targets.select("user_id", "timestamp", "seq")
            before = events_before_targets(events, cut)
            vectors = np.zeros((targets.height, encoder.dim), dtype=np.float32)
            if before.height:
                vectors = _align(encoder.encode_events(before), targets["user_id"], encoder.dim)
            done[key] = vectors
        return done[key]

    return features


def table_source(features: pl.DataFrame) -> FeatureSource:
    """Static features ``user_id, vector`` (the same vector for every target of a user)."""
    dim = features["vector"].dtype.size

    def lookup(targets: pl.DataFrame) -> np.ndarray:
        return _align(features, targets["user_id"], dim)

    return lookup


def classify_source(
    source: str,
    user_ids: list[str],
    X: np.ndarray,  # noqa: N803
    labels: pl.DataFrame,
    tasks: list[str],
    heads: list[str],
    *,
    n_seeds: int = 5,
    console: Console | None = None,
    blocks: tuple[tuple[int, int, str], ...] | None = None,
    n_jobs: int | None = None,
) -> pl.DataFrame:
    """Evaluate every (task, head) on one source's features; rows follow ``CLASSIFY_COLUMNS``.

    ``blocks`` (``((offset, dim, scaling), ...)``, e.g. ``BlockLayout.spec()``) makes the
    heads scale each block of ``X`` in its own way; every head tunes itself (wide-grid CV for
    the logistic head) on each split's training users only; ``n_jobs`` runs its CV folds in
    parallel processes.
    """
    frames = []
    for task in tasks:
        rows, y = task_labels(labels, task, user_ids)
        for head in heads:
            summary = summarize(
                evaluate_classification(
                    X[rows], y, make_head(head, blocks=blocks, n_jobs=n_jobs), n_seeds=n_seeds
                )
            )
            frames.append(
                summary.with_columns(
                    source=pl.lit(source),
                    task=pl.lit(task),
                    head=pl.lit(head),
                    n_users=pl.lit(len(y), pl.Int64),
                )
            )
            if console is not None:
                main = "auroc" if "auroc" in summary["metric"].to_list() else "accuracy"
                r = summary.filter(pl.col("metric") == main).row(0, named=True)
                console.print(
                    f"  {source:>14} {task:>10} {head:>8}: {main} {r['mean']:.3f} ± {r['std']:.3f}"
                )
    return pl.concat(frames).select(
        "source", "task", "head", "metric", "mean", "std", "n_seeds", "n_users"
    )


def fit_split(task: NextItemTask, holdout: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Training targets (train-k of everyone + valid of most users) and early-stop targets."""
    valid = task.role("valid")
    rng = np.random.default_rng(seed)
    stop_mask = rng.random(valid.height) < holdout
    train_roles = task.targets.filter(pl.col("role").str.starts_with("train-"))
    return pl.concat([train_roles, valid.filter(~stop_mask)]), valid.filter(stop_mask)


def recommend_source(
    task: NextItemTask,
    source: str,
    features: FeatureSource,
    item_vectors: np.ndarray,
    config: RecommendConfig,
    *,
    static: bool = False,
    holdout: float = 0.1,
    progress: bool = False,
) -> tuple[pl.DataFrame, RecommendHead]:
    """Train a recommendation head on one feature source and evaluate it on the test targets.

    Args:
        task: the shared protocol.
        source: name in the result rows.
        features: the feature source.
        item_vectors: ``(n_items, d_item)`` item text vectors in ``task.items`` order.
        config: the head.
        static: the features ignore the target time; train only on validation targets (the
            earlier training targets would see their own answer in the features).
        holdout: share of users whose validation target drives early stopping instead.
        progress: progress bars.

    """
    fit, stop = fit_split(task, holdout, config.seed)
    if static:
        fit = fit.filter(pl.col("role") == "valid")

    def inputs(targets: pl.DataFrame) -> np.ndarray:
        x = features(targets)
        if config.last_item:
            x = np.concatenate([x, item_vectors[task.previous_items(targets)]], axis=1)
        return x

    parts = fit.partition_by("role")
    fit_x = np.concatenate([inputs(part) for part in parts])
    fit_y = np.concatenate([part["index"].to_numpy() for part in parts])
    counts = np.bincount(task.history["index"].to_numpy(), minlength=task.items.height)
    head = RecommendHead(config).fit(
        fit_x,
        fit_y,
        item_vectors,
        counts,
        valid=(inputs(stop), stop["index"].to_numpy()),
        progress=progress,
    )
    test = task.test
    scores = head.score(inputs(test))
    return _evaluate(task, scores, source), head


def item_vectors(
    task: NextItemTask,
    backbone: TextBackbone,
    cache: EmbeddingCache | None = None,
    *,
    progress: bool = False,
) -> np.ndarray:
    """Item descriptions embedded by a text backbone (cached): ``(n_items, dim)``.

    Use the backbone the user encoder was trained with, so users and items share one text space.
    """
    texts = task.items["item_text"].to_list()
    if any(t is None or not t.strip() for t in texts):
        raise ByodError("every item needs a non-empty item_text to be embedded")
    return encode_unique(texts, backbone, cache, progress=progress)


def recommend_baselines(task: NextItemTask, names: list[str] | None = None) -> pl.DataFrame:
    """Evaluate the named next-item baselines (default: all) on the task."""
    names = list(NEXT_ITEM_BASELINES) if names is None else names
    return pl.concat([_evaluate(task, NEXT_ITEM_BASELINES[n](task), n) for n in names])


def _evaluate(task: NextItemTask, scores: np.ndarray, source: str) -> pl.DataFrame:
    """:func:`evaluate_scores`, the sampled protocol named by its negative count.

    ``sampled-N`` says how many sampled negatives the truth is ranked among (100 by default);
    the name follows ``task.negatives`` whatever the evaluator calls it.
    """
    rows = evaluate_scores(task, scores, source)
    name = f"sampled-{task.negatives.shape[1]}"
    return rows.with_columns(
        protocol=pl.when(pl.col("protocol").str.starts_with("sampled"))
        .then(pl.lit(name))
        .otherwise(pl.col("protocol"))
    )
