"""The ``flat`` comparison mode: fine-tune the backbone itself on whole serialized histories.

Each (user, service) history is one text (``histories.text``); positives are the same user's
texts in two different services (the CLUE pairing) and the loss is sentence-transformers' own
in-batch-negative loss with gradient caching (``CachedMultipleNegativesRankingLoss``), so the
contrastive batch is independent of memory. The fine-tuned backbone is saved inside the model
folder; encoding a user runs the backbone over each of its history texts and averages. Much slower
than the hierarchical encoder (every event is re-encoded in every history, every step): it exists
to measure what the event-text cache and the sequence encoder buy.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl
import torch
from tqdm.auto import tqdm

from byod.data.schema import validate
from byod.encoders.backbone import SentenceTransformerBackbone
from byod.encoders.user import UserEncoder, UserEncoderConfig
from byod.errors import ByodError

__all__ = ["FlatConfig", "pretrain_flat", "FLAT_BACKBONE"]

FLAT_BACKBONE = "backbone"  # sub-folder of the model folder holding the fine-tuned backbone


@dataclasses.dataclass(frozen=True)
class FlatConfig:
    """Fine-tuning settings for the flat mode."""

    epochs: int = 1
    batch_size: int = 64
    chunk_size: int = 16
    max_tokens: int = 256
    lr: float = 2e-5
    max_steps: int | None = None
    seed: int = 0


def _pairs(histories: pl.DataFrame, prompt: str, rng: np.random.Generator) -> list[tuple[str, str]]:
    per_user = histories.group_by("user_id", maintain_order=True).agg("text")
    pairs = []
    for texts in per_user["text"].to_list():
        if len(texts) >= 2:
            a, b = rng.choice(len(texts), 2, replace=False)
            pairs.append((prompt + texts[a], prompt + texts[b]))
    return pairs


def pretrain_flat(
    histories: pl.DataFrame,
    out_dir: str | Path,
    backbone: SentenceTransformerBackbone,
    config: FlatConfig | None = None,
    *,
    progress: bool = True,
) -> UserEncoder:
    """Fine-tune ``backbone`` on flat clue pairs and save a ``flat`` user encoder in ``out_dir``."""
    from sentence_transformers.sentence_transformer.losses import (
        CachedMultipleNegativesRankingLoss,
    )

    config = config or FlatConfig()
    histories = validate(histories, "histories")
    out_dir = Path(out_dir)
    model = backbone.model
    model.max_seq_length = config.max_tokens
    loss = CachedMultipleNegativesRankingLoss(
        model, mini_batch_size=config.chunk_size, directions=("query_to_doc", "doc_to_query")
    )
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr)
    torch.manual_seed(config.seed)
    model.train()
    step = 0
    for epoch in range(config.epochs):
        pairs = _pairs(histories, backbone.prompt, np.random.default_rng([config.seed, epoch]))
        if len(pairs) < 2:
            raise ByodError("flat pretraining needs users with histories in at least two services")
        batches = range(0, len(pairs) - 1, config.batch_size)
        for start in tqdm(batches, desc=f"flat epoch {epoch + 1}", disable=not progress):
            chunk = pairs[start : start + config.batch_size]
            features = [model.tokenize([p[i] for p in chunk]) for i in (0, 1)]
            opt.zero_grad(set_to_none=True)
            loss(features, None).backward()
            opt.step()
            step += 1
            if config.max_steps and step >= config.max_steps:
                break
    model.eval()
    model.save(str(out_dir / FLAT_BACKBONE))
    tuned = SentenceTransformerBackbone(model, FLAT_BACKBONE, prompt=backbone.prompt)
    enc_cfg = UserEncoderConfig(
        backbone=FLAT_BACKBONE,
        backbone_fingerprint=tuned.fingerprint,
        mode="flat",
        services=("<unknown>",),
        objective="clue",
        extra={
            "flat": dataclasses.asdict(config),
            "base_backbone": backbone.name,
            "prompt": backbone.prompt,
        },
    )
    encoder = UserEncoder(enc_cfg, tuned)
    encoder.save(out_dir)
    return encoder
