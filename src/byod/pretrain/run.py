"""Pretrain a user encoder end to end: histories in, a saved model folder out.

``pretrain`` wires the pieces: backbone + event-text cache -> indexed histories -> sequence
encoder + the objectives (:class:`ObjectiveMix`, each with its InfoNCE loss) + AdamW ->
:class:`Trainer` with checkpointing, early stopping (the best
model by validation loss is what gets saved), a metrics log and a progress bar.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from byod.encoders.backbone import TextBackbone, open_backbone
from byod.encoders.cache import EmbeddingCache
from byod.encoders.histories import HistoryArrays
from byod.encoders.sequence import SequenceEncoder, SequenceEncoderConfig
from byod.encoders.user import VIEWS, UserEncoder, UserEncoderConfig
from byod.errors import ConfigError, check_keys
from byod.pretrain.callbacks import Checkpoint, EarlyStopping, MetricsLog, ProgressBar
from byod.pretrain.objectives import ObjectiveMix, parse_objective_spec
from byod.pretrain.trainer import TrainConfig, Trainer, TrainState, load_checkpoint

__all__ = ["PretrainConfig", "pretrain", "baseline_encoder", "sequence_config", "BASELINES"]

BASELINES = ("zero-shot", "random")
CHECKPOINT = "checkpoints/last.pt"


# Sequence-encoder keys a user may set; input_dim, n_services and max_events come from the data.
_ENCODER_KEYS = (
    "dim", "out_dim", "layers", "heads", "ff_mult", "dropout", "recency_buckets",
    "causal", "whiten", "id_buckets", "service_query",
)  # fmt: skip
ITEM_IDS = ("off", "hashed")
_LOSS_KEYS = ("temperature", "learnable", "negatives", "full_below", "within_service")
_TIMELINE_OBJECTIVES = {"slices", "next-item", "future"}  # they read the merged timeline
# View-sampler options (each objective takes those its sampler has).
_VIEW_KEYS = (
    "min_events", "random_slices", "min_crop", "delete", "substitute", "reorder", "horizon",
    "target_services",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
    """What to train; each component's settings live in its own section.

    YAML form of ``byod pretrain --config``::

        objective: clue:1,slices:1                   # one objective, or several with weights
        backbone: minilm
        max_events: 64
        views: {min_events: 8, random_slices: true}  # view-sampler options
        encode_views: null                           # services | timeline | both (null: derived)
        encoder: {dim: 128, layers: 2}               # SequenceEncoderConfig keys
        item_ids: off                                # off | hashed (id embedding per item)
        loss: {temperature: 0.05, learnable: true}   # InfoNCE; next-item: negatives
        optimizer: {lr: 0.001, weight_decay: 0.01}   # AdamW arguments
        train: {epochs: 30, batch_size: 256}         # TrainConfig keys
        patience: 3

    Attributes:
        objective: ``clue``, ``slices``, ``simclr``, ``next``, ``next-item``, ``future``, or a
            weighted combination ``"next-item:1,clue:0.5"`` trained in one run (total loss =
            weighted sum).
        backbone: packaged backbone name or a sentence-transformers folder.
        max_events: the longest view, and the chunk length when encoding a full history.
        views: view-sampler options (``min_events``: shortest random slice; ``random_slices``:
            False gives ``clue`` its old deterministic views, the last ``max_events`` events;
            ``target_services``: ``next-item`` predicts only these services' events, reading
            every service's).
        encode_views: what the saved encoder reads at inference: ``services`` (per-service
            histories, averaged), ``timeline`` (the merged timeline) or ``both``; None: from
            the objectives (``slices`` alone -> timeline, with others -> both, else services).
        encoder: overrides of :class:`SequenceEncoderConfig` sizes (``causal`` and ``whiten``
            default to on with ``next-item``, off otherwise; ``id_buckets``: size of the hashed
            id table when ``item_ids`` is ``hashed``, default 32768; ``service_query``: the
            next-item query is told the service of the event asked for).
        item_ids: ``off``: items are their text alone (the encoder embeds users and items of
            another system); ``hashed``: plus a hashed id embedding for items seen in
            pretraining (unseen items fall back to their text).
        loss: :class:`InfoNCELoss` arguments (``temperature``, ``learnable``) and, for
            ``next-item``, ``negatives`` (uniform negatives of the sampled softmax, default
            4096), ``full_below`` (a full softmax for tables up to this many items) and
            ``within_service`` (a target competes only with its own service's items).
        optimizer: ``torch.optim.AdamW`` arguments.
        train: the loop settings.
        patience: early-stopping patience in epochs.
    """

    objective: str = "clue"
    backbone: str = "minilm"
    max_events: int = 64
    views: dict[str, Any] = dataclasses.field(default_factory=dict)
    encode_views: str | None = None
    encoder: dict[str, Any] = dataclasses.field(default_factory=dict)
    loss: dict[str, Any] = dataclasses.field(
        default_factory=lambda: {"temperature": 0.05, "learnable": True}
    )
    optimizer: dict[str, Any] = dataclasses.field(
        default_factory=lambda: {"lr": 1e-3, "weight_decay": 0.01}
    )
    train: TrainConfig = TrainConfig()
    patience: int = 3
    item_ids: str = "off"

    def __post_init__(self) -> None:
        parse_objective_spec(self.objective)  # raises ConfigError on a bad spec
        check_keys(self.views, _VIEW_KEYS, "views")
        if self.encode_views is not None and self.encode_views not in VIEWS:
            raise ConfigError(
                f"encode_views must be one of {list(VIEWS)} or null, got {self.encode_views!r}"
            )
        check_keys(self.encoder, _ENCODER_KEYS, "encoder")
        check_keys(self.loss, _LOSS_KEYS, "loss")
        if self.item_ids not in ITEM_IDS:
            raise ConfigError(f"item_ids must be one of {list(ITEM_IDS)}, got {self.item_ids!r}")
        check_keys(self.optimizer, ("lr", "weight_decay", "betas", "eps"), "optimizer")
        if self.train.batch_size < 2 or self.train.chunk_size < 1:
            raise ConfigError("train.batch_size must be >= 2 and train.chunk_size >= 1")

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "pretrain config") -> PretrainConfig:
        """Build from nested mappings; unknown keys fail with the list of valid keys."""
        raw = dict(raw)
        check_keys(raw, [f.name for f in dataclasses.fields(cls)], where)
        train = raw.pop("train", {}) or {}
        check_keys(train, [f.name for f in dataclasses.fields(TrainConfig)], f"{where}.train")
        defaults = cls()
        for section in ("loss", "optimizer"):  # partial sections keep the other defaults
            raw[section] = {**getattr(defaults, section), **(raw.get(section) or {})}
        return cls(train=TrainConfig(**train), **raw)

    @property
    def inference_views(self) -> str:
        """``encode_views``, or what the objectives train: services, timeline or both."""
        if self.encode_views is not None:
            return self.encode_views
        names = {n for n, _ in parse_objective_spec(self.objective)}
        if not names & _TIMELINE_OBJECTIVES:
            return "services"
        return "timeline" if names <= _TIMELINE_OBJECTIVES else "both"

    @property
    def next_item(self) -> bool:
        """Whether ``next-item`` is among the objectives."""
        return "next-item" in dict(parse_objective_spec(self.objective))

    def with_overrides(self, **train: Any) -> PretrainConfig:
        """A copy with ``train`` keys replaced (None values ignored), e.g. from CLI options."""
        changes = {k: v for k, v in train.items() if v is not None}
        return dataclasses.replace(self, train=dataclasses.replace(self.train, **changes))


def sequence_config(cfg: PretrainConfig, arrays: HistoryArrays) -> SequenceEncoderConfig:
    """The sequence encoder ``cfg`` builds on ``arrays``, its training histories.

    Causal and whitened with ``next-item``, an id row per distinct item with ``item_ids:
    hashed``; the ``encoder`` settings override what is derived.
    """
    derived = {"causal": cfg.next_item, "whiten": cfg.next_item}
    if cfg.item_ids == "hashed":  # a row per distinct pretraining item: no collisions
        derived["id_buckets"] = max(1, len(np.unique(arrays.item_keys())))
        derived["id_lookup"] = "exact"
    else:
        derived["id_buckets"] = 0
    sizes = {**derived, **cfg.encoder}
    if cfg.item_ids == "off":
        sizes["id_buckets"] = 0
    return SequenceEncoderConfig(
        input_dim=arrays.vectors.shape[1],
        max_events=cfg.max_events,
        n_services=len(arrays.services),
        **sizes,
    )


def _fit_item_table(model: SequenceEncoder, arrays: HistoryArrays) -> None:
    """Whitening from the training item table; its items get their id buckets."""
    if model.config.whiten:
        model.fit_whitening(torch.from_numpy(arrays.vectors))
    if model.config.id_buckets:
        model.mark_seen(torch.from_numpy(arrays.item_keys()))


def pretrain(
    histories: pl.DataFrame,
    out_dir: str | Path,
    config: PretrainConfig,
    *,
    backbone: TextBackbone | None = None,
    vector_cache_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    rendering: dict[str, Any] | None = None,
    callbacks: list[Any] | None = None,
) -> tuple[UserEncoder, TrainState]:
    """Train a user encoder on ``histories`` and save the best one into ``out_dir``.

    Args:
        histories: training histories (``HISTORY_SCHEMA``); only their events are ever seen.
        out_dir: the model folder (config, weights, ``checkpoints/``, ``metrics.jsonl``).
        config: what to train.
        backbone: the event-text backbone (default: opened by ``config.backbone``).
        vector_cache_dir: event-text vector cache.
        resume: continue from ``out_dir/checkpoints/last.pt`` when it exists.
        progress: show progress bars.
        rendering: how the histories' event texts were written
            (:meth:`~byod.data.serialize.SerializeConfig.rendering`), saved with the model.
        callbacks: extra trainer callbacks, called after the built-in ones (so an epoch is
            checkpointed before they run), e.g. a tuning probe that reports to a pruner.
    """
    out_dir = Path(out_dir)
    torch.manual_seed(config.train.seed)
    backbone = backbone or open_backbone(config.backbone)
    cache = (
        EmbeddingCache(vector_cache_dir, backbone.fingerprint, backbone.dim)
        if vector_cache_dir
        else None
    )
    arrays = HistoryArrays.build(histories, backbone, cache=cache, progress=progress)
    seq_cfg = sequence_config(config, arrays)
    model = SequenceEncoder(seq_cfg)
    _fit_item_table(model, arrays)
    enc_cfg = UserEncoderConfig(
        backbone=backbone.name,
        backbone_fingerprint=backbone.fingerprint,
        mode="sequence",
        sequence=seq_cfg,
        services=tuple(arrays.services),
        max_events=config.max_events,
        objective=config.objective,
        extra={"pretrain": dataclasses.asdict(config)},
        views=config.inference_views,
        rendering=rendering,
        item_ids=config.item_ids,
    )

    def save_best(trainer: Trainer) -> None:
        UserEncoder(enc_cfg, backbone, trainer.model, cache=cache, device=trainer.device).save(
            out_dir
        )

    trainer = Trainer(
        model,
        ObjectiveMix.parse(config.objective, config.max_events, config.views, **config.loss),
        functools.partial(torch.optim.AdamW, **config.optimizer),
        config.train,
        callbacks=[
            MetricsLog(out_dir / "metrics.jsonl"),
            EarlyStopping(config.patience, on_improve=save_best),
            Checkpoint(out_dir / CHECKPOINT),
            ProgressBar(progress),
            *(callbacks or []),
        ],
    )
    if resume and (out_dir / CHECKPOINT).exists():
        trainer.split_users(arrays)
        load_checkpoint(trainer, out_dir / CHECKPOINT)
    state = trainer.fit(arrays)
    if not (out_dir / "user_encoder.json").exists():  # no validation improvement recorded
        save_best(trainer)
    return UserEncoder.load(out_dir, backbone=backbone, vector_cache_dir=vector_cache_dir), state


def baseline_encoder(
    kind: str,
    histories: pl.DataFrame,
    backbone: TextBackbone,
    *,
    max_events: int = 64,
    seed: int = 0,
    rendering: dict[str, Any] | None = None,
) -> UserEncoder:
    """An untrained encoder: ``zero-shot`` (mean of event vectors) or ``random`` (random init)."""
    if kind not in BASELINES:
        raise ConfigError(f"baseline must be one of {list(BASELINES)}, got {kind!r}")
    services = ["<unknown>", *sorted(histories["service"].unique().to_list())]
    common = {
        "backbone": backbone.name,
        "backbone_fingerprint": backbone.fingerprint,
        "services": tuple(services),
        "max_events": max_events,
        "objective": kind,
        "rendering": rendering,
    }
    if kind == "zero-shot":
        return UserEncoder(UserEncoderConfig(mode="mean", **common), backbone)
    torch.manual_seed(seed)
    seq_cfg = SequenceEncoderConfig(
        input_dim=backbone.dim, max_events=max_events, n_services=len(services)
    )
    return UserEncoder(
        UserEncoderConfig(mode="sequence", sequence=seq_cfg, **common),
        backbone,
        SequenceEncoder(seq_cfg),
    )
