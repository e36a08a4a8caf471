"""The whole chain on built-in MovieLens data, as ``make demo`` runs it.

built-in data → raw logs → ingest → serialize → pretrain ``clue`` (on events before every user's
validation target) → feature tables (clue, zero-shot) → gender / age / occupation heads and
next-item recommendation against baselines → the report.

The transfer steps use the packaged events table (``seq`` = the line in the ratings file) so
that same-second ratings keep their original order everywhere.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from byod.atomic import write_parquet
from byod.data.builtin.movielens import MovieLens, load_movielens
from byod.data.serialize import SerializeConfig, serialize
from byod.encoders.backbone import TextBackbone, open_backbone
from byod.encoders.cache import EmbeddingCache
from byod.encoders.user import UserEncoder
from byod.features.blocks import DEFAULT_BLOCKS, BlockLayout, compute_blocks
from byod.features.table import frame_hash, write_feature_table
from byod.pretrain.run import PretrainConfig, baseline_encoder, pretrain
from byod.transfer.baselines import bag_of_items
from byod.transfer.nextitem import NextItemTask, events_before_targets, next_item_task
from byod.transfer.recommend import RecommendConfig
from byod.transfer.run import (
    classify_source,
    encoder_source,
    item_vectors,
    recommend_baselines,
    recommend_source,
)

__all__ = ["DemoConfig", "EncoderSpec", "PROFILES", "run_transfer_chain"]

TASKS = ["gender", "age", "occupation"]


@dataclasses.dataclass(frozen=True)
class EncoderSpec:
    """One feature source of the comparison.

    Attributes:
        name: its name in the result tables.
        objective: ``clue``, ``simclr``, ``next`` or the untrained ``zero-shot``.
        service: train on, and embed from, this service's events only (None: all services).

    """

    name: str
    objective: str
    service: str | None = None


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """How much of the chain to run (``full`` is the default demo; ``quick`` is for smoke tests).

    Attributes:
        dataset: ``ml-1m`` or ``ml-100k``.
        epochs: pretraining epochs of each trained encoder.
        seeds: user splits per classification task.
        backbone: event-text backbone.
        encoders: the feature sources compared.
        heads: recommendation heads trained on each encoder's features.
        blocks: feature blocks written beside each encoder's vector (``learned`` first) and
            classified together as ``<name>+<blocks>``; ``("learned",)`` for none.

    """

    dataset: str = "ml-1m"
    epochs: int = 10
    seeds: int = 5
    backbone: str = "minilm"
    encoders: tuple[EncoderSpec, ...] = (
        EncoderSpec("clue", "clue"),
        EncoderSpec("zero-shot", "zero-shot"),
    )
    heads: tuple[str, ...] = ("mlp",)
    blocks: tuple[str, ...] = DEFAULT_BLOCKS


PROFILES = {
    "full": DemoConfig(),
    "quick": DemoConfig(dataset="ml-100k", epochs=2, seeds=2),
}


def _training_events(events: pl.DataFrame, task: NextItemTask) -> pl.DataFrame:
    """Events before each user's validation target (all events of users without one)."""
    valid = task.role("valid").select("user_id", "timestamp", "seq")
    before = events_before_targets(events, valid)
    untargeted = events.join(valid.select("user_id"), on="user_id", how="anti")
    return pl.concat([before, untargeted])


def _pretrain_histories(events: pl.DataFrame, task: NextItemTask) -> pl.DataFrame:
    """Histories from events before each user's validation target: no target leaks in."""
    return serialize(_training_events(events, task), SerializeConfig(max_events=256))


def _write_features(
    encoder: UserEncoder,
    events: pl.DataFrame,
    root: Path,
    blocks: tuple[str, ...],
    fit_events: pl.DataFrame,
) -> tuple[np.ndarray, BlockLayout, list[str]]:
    """Write the feature table (vector + blocks); return its matrix, layout and user ids."""
    histories = serialize(events, SerializeConfig(max_events=256))
    features = encoder.encode(histories, progress=True)
    state: dict[str, np.ndarray] = {}
    extra = compute_blocks(
        events,
        features["user_id"].to_list(),
        blocks,
        backbone=encoder.backbone,
        cache=encoder.cache,
        fit_events=fit_events,
        state=state,
    )
    table = write_feature_table(
        features,
        root,
        {"backbone": encoder.config.backbone, "objective": encoder.config.objective,
         "mode": encoder.config.mode, "source_kind": "histories",
         "source_hash": frame_hash(histories)},
        extra,
        state,
    )  # fmt: skip
    return (*table.matrix(), table.user_ids)


@dataclasses.dataclass
class _Source:
    spec: EncoderSpec
    encoder: UserEncoder
    events: pl.DataFrame  # what it may see: all services, or its one service


def _train_encoders(
    ml_events: pl.DataFrame,
    task: NextItemTask,
    config: DemoConfig,
    out: Path,
    backbone: TextBackbone,
    vector_cache_dir: Path,
    cache: EmbeddingCache,
    say: Callable[[str], None],
) -> list[_Source]:
    sources = []
    for spec in config.encoders:
        events = ml_events
        if spec.service is not None:
            events = ml_events.filter(pl.col("service") == spec.service)
        histories = _pretrain_histories(events, task)
        if spec.objective == "zero-shot":
            encoder = baseline_encoder("zero-shot", histories, backbone)
            encoder.cache = cache
        else:
            cfg = PretrainConfig(objective=spec.objective, backbone=config.backbone)
            cfg = cfg.with_overrides(epochs=config.epochs)
            say(f"   pretrain {spec.name}: {config.epochs} epochs on {histories.height:,} "
                f"histories ({spec.service or 'all services'})")  # fmt: skip
            encoder, state = pretrain(
                histories,
                out / "models" / spec.name,
                cfg,
                backbone=backbone,
                vector_cache_dir=vector_cache_dir,
            )
            say(f"   best validation loss {min(h['val_loss'] for h in state.history):.3f}")
        encoder.cache = encoder.cache or cache
        sources.append(_Source(spec, encoder, events))
    return sources


def _classify(
    features: dict[str, tuple[np.ndarray, BlockLayout, list[str]]], ml: MovieLens, seeds: int
) -> list[pl.DataFrame]:
    """Each encoder alone and with its blocks, majority and tuned TF-IDF: classification rows."""
    run = functools.partial(classify_source, labels=ml.labels, tasks=TASKS, n_seeds=seeds,
                            n_jobs=-1)  # fmt: skip
    rows = []
    for name, (matrix, layout, ids) in features.items():
        heads = ["logistic", "mlp"] if name == "clue" else ["logistic"]
        learned = layout.select(["learned"])
        rows.append(run(name, ids, matrix[:, : learned.dim], heads=heads, blocks=learned.spec()))
        if len(layout.blocks) > 1:  # the blocks' own names, without repeating the encoder's
            combined = "+".join([name, *[b for b in layout.names[1:] if b != name]])
            rows.append(run(combined, ids, matrix, heads=["logistic"], blocks=layout.spec()))
    ids = ml.labels["user_id"].unique().sort().to_list()
    rows.append(run("majority", ids, np.zeros((len(ids), 1)), heads=["majority"]))
    rows.append(run("tfidf-items", ids, bag_of_items(ml.events, ids), heads=["logistic"]))
    return rows


def run_transfer_chain(
    out: Path,
    config: DemoConfig,
    *,
    say: Callable[[str], None] = print,
    backbone: TextBackbone | None = None,
    vector_cache_dir: Path,
    models_dir: Path | None = None,
) -> dict[str, float]:
    """Pretrain, embed, evaluate and write ``out/transfer/*.parquet``; returns step timings (s)."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    ml = load_movielens(config.dataset)
    write_parquet(ml.labels, out / "labels.parquet")
    task = next_item_task(ml.interactions)
    backbone = backbone or open_backbone(config.backbone, models_dir=models_dir)
    say("4. pretraining (on events before every user's validation target)")
    cache = EmbeddingCache(vector_cache_dir, backbone.fingerprint, backbone.dim)
    sources = _train_encoders(ml.events, task, config, out, backbone, vector_cache_dir, cache, say)
    timings["pretrain"] = time.perf_counter() - t
    t = time.perf_counter()
    features = {
        src.spec.name: _write_features(
            src.encoder,
            src.events,
            out / "features" / src.spec.name,
            config.blocks,
            _training_events(src.events, task),  # the SVD block never sees a target
        )
        for src in sources
    }
    timings["embed"] = time.perf_counter() - t
    say(f"5. feature tables for {len(features)} encoders ({timings['embed']:.0f} s)")
    t = time.perf_counter()
    rows = _classify(features, ml, config.seeds)
    write_parquet(pl.concat(rows), out / "transfer" / "classify.parquet")
    timings["classify"] = time.perf_counter() - t
    say(f"6. classification: {len(TASKS)} tasks, {len(rows)} sources ({timings['classify']:.0f} s)")
    t = time.perf_counter()
    items = item_vectors(task, backbone, cache)
    results = [recommend_baselines(task)]
    for src in sources:
        feature_source = encoder_source(src.encoder, src.events)
        for kind in config.heads:
            res, _ = recommend_source(task, f"{src.spec.name}-{kind}", feature_source, items,
                                      RecommendConfig(kind=kind), progress=True)  # fmt: skip
            results.append(res)
    write_parquet(pl.concat(results), out / "transfer" / "recommend.parquet")
    timings["recommend"] = time.perf_counter() - t
    say(f"7. next-item: {len(results)} methods, 2 protocols ({timings['recommend']:.0f} s)")
    return timings
