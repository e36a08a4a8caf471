"""Embed users and write their feature table (the learned vector plus named blocks) in one call.

``byod embed`` and the pipeline both write feature tables through :func:`embed_to_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from byod.errors import ConfigError
from byod.features.blocks import compute_blocks
from byod.features.table import FeatureTable, frame_hash, write_feature_table

if TYPE_CHECKING:
    from byod.encoders.user import UserEncoder

__all__ = ["embed_to_table"]


def embed_to_table(
    encoder: UserEncoder,
    out: str | Path,
    *,
    histories: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    blocks: Sequence[str] = ("learned",),
    fit_events: pl.DataFrame | None = None,
    svd_dim: int = 128,
    state: dict[str, np.ndarray] | None = None,
    metadata: dict[str, Any] | None = None,
    progress: bool = False,
) -> FeatureTable:
    """Embed users and write a new version of the feature table under ``out``.

    Args:
        encoder: the user encoder.
        out: the feature-table folder.
        histories: the users' histories (encoded as they are); without them the users are
            embedded from ``events`` (serialized as the encoder's training histories were).
        events: raw events: the source of the extra blocks, and of the vectors without
            ``histories``.
        blocks: the blocks, ``learned`` (the encoder's vector) first.
        fit_events: what the ``svd`` block is fitted on (default ``events``; e.g. the training
            side only, so no target is seen).
        svd_dim: components of the ``svd`` block.
        state: the blocks' fitted transforms: reused when filled (new users land in an earlier
            table's space), else fitted and stored here and in ``blocks.npz``.
        metadata: what produced the table (merged into ``metadata.json``).
        progress: progress bars.

    Returns:
        The written table (``features.parquet``: ``user_id``, ``vector`` ``(dim,)``, one column
        per extra block).

    Raises:
        ConfigError: neither input, ``learned`` missing or not first, blocks without events.
    """
    names = list(blocks)
    if histories is None and events is None:
        raise ConfigError("give histories or events (or both: blocks from the events)")
    if not names or names[0] != "learned":
        raise ConfigError(f"blocks must start with 'learned' (the table's index), got {names}")
    if events is None and names != ["learned"]:
        raise ConfigError(f"blocks {names[1:]} need the users' events")
    source = histories if histories is not None else events
    if histories is not None:
        features = encoder.encode(histories, progress=progress)
    else:
        features = encoder.encode_events(events, progress=progress)
    state = {} if state is None else state
    extra = {}
    if names != ["learned"]:
        extra = compute_blocks(
            events,
            features["user_id"].to_list(),
            names,
            backbone=encoder.backbone,
            cache=encoder.cache,
            fit_events=fit_events,
            svd_dim=svd_dim,
            state=state,
            progress=progress,
        )
    cfg = encoder.config
    meta = {
        "backbone": cfg.backbone,
        "backbone_fingerprint": cfg.backbone_fingerprint,
        "objective": cfg.objective,
        "mode": cfg.mode,
        "source_kind": "histories" if histories is not None else "events",
        "source_hash": frame_hash(source),
        **({"block_events_hash": frame_hash(events)} if extra else {}),
        **(metadata or {}),
    }
    return write_feature_table(features, out, meta, extra, state)
