"""The chain over tables as one library call: ingested tables in, results and report out.

events, labels, interactions → histories → encoders → feature tables → heads → results → report.

Every step reads what earlier steps wrote into the run directory (:class:`RunLayout`) and writes
its own tables there. One leave-one-out split (``byod.data.splits``, by ``(timestamp, seq)``)
decides everything: encoders pretrain, and the SVD block is fitted, on the events before every
user's validation target; next-item heads are scored on the test targets.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from byod.atomic import write_json, write_parquet
from byod.data.serialize import SerializeConfig, serialize, write_histories
from byod.data.splits import leave_one_out_roles
from byod.errors import ByodError
from byod.layout import RunLayout
from byod.pipeline.config import EncoderSpec, PipelineConfig
from byod.pipeline.tables import PipelineTables, load_tables

__all__ = ["PipelineCancelled", "PipelineResult", "run_pipeline"]

Say = Callable[[str], None]
ShouldStop = Callable[[], bool]


class PipelineCancelled(ByodError):
    """``should_stop`` asked the pipeline to stop; the steps done so far stay on disk."""


@dataclasses.dataclass
class PipelineResult:
    """What :func:`run_pipeline` produced.

    Attributes:
        layout: the run directory.
        timings: seconds per step (``tables``, ``pretrain``, ``embed``, ``classify``,
            ``recommend``, ``report``).
        classify: the classification rows (None without labels).
        recommend: the next-item rows (None when skipped).
        report: the report's HTML path (None when not written).
    """

    layout: RunLayout
    timings: dict[str, float]
    classify: pl.DataFrame | None = None
    recommend: pl.DataFrame | None = None
    report: Path | None = None


@dataclasses.dataclass
class _Source:
    spec: EncoderSpec
    encoder: Any  # UserEncoder (torch: imported late)
    events: pl.DataFrame  # what it may see: all services, or its one service


@dataclasses.dataclass
class _Context:
    config: PipelineConfig
    layout: RunLayout
    say: Say
    progress: bool
    should_stop: ShouldStop
    vector_cache_dir: Path | None = None
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    def step(self, name: str) -> _Timer:
        if self.should_stop():
            raise PipelineCancelled(f"stopped before step {name!r}; outputs so far are kept")
        return _Timer(self.timings, name)


class _Timer:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> _Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = time.perf_counter() - self.t0


def _valid_cut(tables: PipelineTables) -> pl.DataFrame:
    """Each user's validation target ``user_id, timestamp, seq``: every training input's cut.

    The next-item task's target when events name items, else the events' own leave-one-out.
    """
    frame = tables.interactions if tables.interactions.height else tables.events
    roles = leave_one_out_roles(frame.select("user_id", "timestamp", "seq"))
    return roles.filter(pl.col("role") == "valid").select("user_id", "timestamp", "seq")


def _training_events(events: pl.DataFrame, cut: pl.DataFrame) -> pl.DataFrame:
    """Events before each user's validation target (all events of users without one)."""
    from byod.data.splits import events_before

    before = events_before(events, cut)
    return pl.concat([before, events.join(cut.select("user_id"), on="user_id", how="anti")])


def _write_split(layout: RunLayout, tables: PipelineTables, cut: pl.DataFrame) -> None:
    frame = tables.interactions if tables.interactions.height else tables.events
    roles = leave_one_out_roles(frame)
    write_parquet(_training_events(tables.events, cut), layout.split / "history.parquet")
    for role in ("valid", "test"):
        rows = roles.filter(pl.col("role") == role).drop("position", "role")
        write_parquet(rows, layout.split / f"{role}.parquet")


def _encoders(
    ctx: _Context, tables: PipelineTables, cut: pl.DataFrame, backbone: Any, cache: Any
) -> list[_Source]:
    from byod.pretrain.run import PretrainConfig, baseline_encoder, pretrain

    config, sources = ctx.config, []
    for spec in config.encoders:
        events = tables.events
        if spec.service is not None:
            events = events.filter(pl.col("service") == spec.service)
            if events.is_empty():
                raise ByodError(f"encoder {spec.name}: no events in service {spec.service!r}")
        serialize_cfg = SerializeConfig(max_events=config.max_events)
        histories = serialize(_training_events(events, cut), serialize_cfg)
        if not spec.trained:
            encoder = baseline_encoder(
                spec.objective, histories, backbone, rendering=serialize_cfg.rendering()
            )
        else:
            cfg = PretrainConfig(objective=spec.objective, backbone=config.backbone,
                                 **spec.pretrain)  # fmt: skip
            cfg = cfg.with_overrides(epochs=config.epochs, **config.train)
            ctx.say(f"   pretrain {spec.name}: {cfg.train.epochs} epochs on {histories.height:,} "
                    f"histories ({spec.service or 'all services'})")  # fmt: skip
            encoder, state = pretrain(
                histories,
                ctx.layout.model(spec.name),
                cfg,
                backbone=backbone,
                vector_cache_dir=ctx.vector_cache_dir,
                progress=ctx.progress,
                rendering=serialize_cfg.rendering(),
            )
            losses = [h["val_loss"] for h in state.history if h.get("val_loss") is not None]
            if losses:
                ctx.say(f"   best validation loss {min(losses):.3f}")
        encoder.cache = encoder.cache or cache
        sources.append(_Source(spec, encoder, events))
    return sources


def _features(
    ctx: _Context, sources: list[_Source], cut: pl.DataFrame
) -> dict[str, tuple[np.ndarray, Any, list[str]]]:
    """Write each source's feature table; return ``name -> (matrix, layout, user ids)``."""
    from byod.features.write import embed_to_table

    out = {}
    for src in sources:
        histories = serialize(src.events, SerializeConfig(max_events=ctx.config.max_events))
        table = embed_to_table(
            src.encoder,
            ctx.layout.features(src.spec.name),
            histories=histories,
            events=src.events,
            blocks=ctx.config.blocks,
            fit_events=_training_events(src.events, cut),  # the SVD block never sees a target
            svd_dim=ctx.config.svd_dim,
            progress=ctx.progress,
        )
        out[src.spec.name] = (*table.matrix(), table.user_ids)
    return out


def _classify(
    ctx: _Context,
    tables: PipelineTables,
    features: dict[str, tuple[np.ndarray, Any, list[str]]],
) -> pl.DataFrame:
    """Each encoder alone and with its blocks, plus majority and tuned TF-IDF baselines."""
    from byod.transfer.baselines import bag_of_items
    from byod.transfer.run import classify_source

    run = functools.partial(classify_source, labels=tables.labels, tasks=tables.tasks,
                            n_seeds=ctx.config.seeds, n_jobs=ctx.config.n_jobs)  # fmt: skip
    heads = {spec.name: list(spec.classify_heads) for spec in ctx.config.encoders}
    rows = []
    for name, (matrix, layout, ids) in features.items():
        learned = layout.select(["learned"])
        rows.append(run(name, ids, matrix[:, : learned.dim], heads=heads[name],
                        blocks=learned.spec()))  # fmt: skip
        if len(layout.blocks) > 1:  # the blocks' own names, without repeating the encoder's
            combined = "+".join([name, *[b for b in layout.names[1:] if b != name]])
            rows.append(run(combined, ids, matrix, heads=["logistic"], blocks=layout.spec()))
    if ctx.config.baselines:
        ids = tables.labels["user_id"].unique().sort().to_list()
        rows.append(run("majority", ids, np.zeros((len(ids), 1)), heads=["majority"]))
        rows.append(run("tfidf-items", ids, bag_of_items(tables.events, ids), heads=["logistic"]))
    return pl.concat(rows)


def _recommend(
    ctx: _Context, tables: PipelineTables, sources: list[_Source], backbone: Any, cache: Any
) -> pl.DataFrame:
    from byod.transfer.nextitem import evaluate_scores, model_scores, next_item_task
    from byod.transfer.recommend import RecommendConfig
    from byod.transfer.run import (
        encoder_source,
        item_vectors,
        recommend_baselines,
        recommend_source,
    )

    task = next_item_task(tables.interactions, n_negatives=ctx.config.n_negatives)
    items = item_vectors(task, backbone, cache, progress=ctx.progress)
    results = [recommend_baselines(task)] if ctx.config.baselines else []
    for src in sources:
        feature_source = encoder_source(src.encoder, src.events)
        for kind in ctx.config.recommend_heads:
            head_cfg = RecommendConfig(**{**ctx.config.recommend, "kind": kind})
            res, _ = recommend_source(task, f"{src.spec.name}-{kind}", feature_source, items,
                                      head_cfg, progress=ctx.progress)  # fmt: skip
            results.append(res)
        if src.encoder.scores_next_items:  # a next-item model ranks items itself, no head
            scores = model_scores(task, src.encoder, src.events)
            results.append(evaluate_scores(task, scores, f"{src.spec.name}-model"))
    return pl.concat(results)


def _run_info(ctx: _Context, tables: PipelineTables) -> dict[str, Any]:
    cfg = ctx.config
    colour_by = cfg.colour_by or (tables.tasks[0] if tables.tasks else None)
    return {
        "config": cfg.to_json(),
        "primary": cfg.primary_source,
        "tasks": tables.tasks,
        "colour_by": colour_by if colour_by in tables.tasks else None,
        "strip_pattern": cfg.strip_pattern,
        "n_negatives": cfg.n_negatives,
        "users": tables.events["user_id"].n_unique(),
        "events": tables.events.height,
        "timings": ctx.timings,
    }


def run_pipeline(
    config: PipelineConfig,
    layout: RunLayout | str | Path,
    *,
    say: Say = print,
    progress: bool = False,
    should_stop: ShouldStop | None = None,
    vector_cache_dir: str | Path | None = None,
    models_dir: str | Path | None = None,
    backbone: Any = None,
) -> PipelineResult:
    """Run the chain on the ingested tables and write every output into the run directory.

    Args:
        config: what to run (:class:`PipelineConfig`).
        layout: the run directory (a :class:`RunLayout` or its root); inputs default to its
            ``ingested/`` tables.
        say: receives one line per step (the CLI prints it; a UI can show it).
        progress: draw progress bars for the long inner loops (embedding, training).
        should_stop: asked between steps; True stops the run with :class:`PipelineCancelled`
            (a UI's cancel button, a tuner's pruning).
        vector_cache_dir: event-text vector cache (None: no cache).
        models_dir: where packaged backbones are built (None: byod's default).
        backbone: an already opened ``TextBackbone`` (tests pass a tiny one).

    Returns:
        The step timings and the result tables (also in ``layout.results``).

    Raises:
        ByodError: a missing or invalid input (one line), or a cancelled run.
    """
    from byod.encoders.backbone import open_backbone  # torch: import late
    from byod.encoders.cache import EmbeddingCache

    layout = layout if isinstance(layout, RunLayout) else RunLayout(Path(layout))
    ctx = _Context(
        config,
        layout,
        say,
        progress,
        should_stop or (lambda: False),
        Path(vector_cache_dir) if vector_cache_dir is not None else None,
    )
    result = PipelineResult(layout, ctx.timings)
    for stale in (layout.classify, layout.recommend):  # results always belong to this run
        stale.unlink(missing_ok=True)
    with ctx.step("tables"):
        tables = _load(config, layout)
        if tables.labels is not None and config.labels is not None:
            write_parquet(tables.labels, layout.labels)  # the report reads them from the run
        cut = _valid_cut(tables)
        histories = serialize(tables.events, SerializeConfig(max_events=config.max_events))
        write_histories(histories, layout.histories, SerializeConfig(max_events=config.max_events))
        _write_split(layout, tables, cut)
    per_user = histories.group_by("user_id").len()["len"]
    say(f"1. tables: {tables.events.height:,} events of {per_user.len():,} users; "
        f"{histories.height:,} (user, service) histories, {(per_user >= 2).mean():.1%} of users "
        f"in 2+ services; {cut.height:,} users with targets; "
        f"labels {tables.tasks or 'none'}")  # fmt: skip
    if backbone is None:
        backbone = open_backbone(config.backbone, models_dir=models_dir, device=config.device)
    cache = (
        EmbeddingCache(vector_cache_dir, backbone.fingerprint, backbone.dim)
        if vector_cache_dir is not None
        else None
    )
    say("2. encoders (trained on events before every user's validation target)")
    with ctx.step("pretrain"):
        sources = _encoders(ctx, tables, cut, backbone, cache)
    with ctx.step("embed"):
        features = _features(ctx, sources, cut)
    say(f"3. feature tables for {len(features)} encoders ({ctx.timings['embed']:.0f} s)")
    if tables.labels is not None and tables.tasks:
        with ctx.step("classify"):
            result.classify = _classify(ctx, tables, features)
            write_parquet(result.classify, layout.classify)
        say(f"4. classification: {len(tables.tasks)} tasks "
            f"({ctx.timings['classify']:.0f} s)")  # fmt: skip
    else:
        say("4. classification: skipped (no labels)")
    if not tables.interactions.height:
        say("5. next-item: skipped (no event names an item)")
    elif config.recommend_heads or config.baselines:
        with ctx.step("recommend"):
            result.recommend = _recommend(ctx, tables, sources, backbone, cache)
            write_parquet(result.recommend, layout.recommend)
        n = result.recommend["source"].n_unique()
        say(f"5. next-item: {n} methods, 2 protocols ({ctx.timings['recommend']:.0f} s)")
    write_json(_run_info(ctx, tables), layout.run_info)
    if config.report:
        from byod.report import build_report

        with ctx.step("report"):
            result.report = build_report(layout.root).html
        say(f"6. report: {result.report}")
        write_json(_run_info(ctx, tables), layout.run_info)  # with the report's time
    return result


def _load(config: PipelineConfig, layout: RunLayout) -> PipelineTables:
    labels = config.labels
    if labels is None and layout.labels.exists():
        labels = layout.labels
    items = config.items
    if items is None and layout.items.exists():
        items = layout.items
    return load_tables(
        config.events or layout.events,
        labels,
        items,
        tasks=config.tasks,
        sample_users=config.sample_users,
        seed=config.seed,
    )
