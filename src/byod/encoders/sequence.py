"""The sequence encoder: event vectors of one history in, one L2-normalised user vector out.

CLUE's service transformer over item vectors, with mean pooling. Each event vector (from the frozen
text backbone) is projected, then gets three learned embeddings added: its position counted from
the most recent event, its recency bucket (log-scaled days before the history's last event) and the
history's service (or each event's own service in a slice of a merged timeline). A small
pre-norm transformer mixes them; the mean of the valid outputs is the feature vector
(:meth:`SequenceEncoder.pool`), and its projection by a head, L2-normalised, is what the
contrastive losses see (:meth:`SequenceEncoder.forward`); as in SimCLR, features are taken before
the projection head.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SequenceEncoderConfig", "SequenceEncoder", "recency_bucket"]


@dataclasses.dataclass(frozen=True)
class SequenceEncoderConfig:
    """Sizes of the sequence encoder.

    Attributes:
        input_dim: size of the event vectors (the backbone's dim).
        dim: transformer width.
        out_dim: size of the user vector.
        layers: transformer layers (0: mean of projected events, a cheap ablation).
        heads: attention heads.
        ff_mult: feed-forward width as a multiple of ``dim``.
        dropout: dropout in the transformer and on inputs.
        max_events: longest history the position embedding covers.
        n_services: service vocabulary size (index 0 = unknown).
        recency_buckets: number of log-scaled recency buckets.
    """

    input_dim: int
    dim: int = 128
    out_dim: int = 128
    layers: int = 2
    heads: int = 4
    ff_mult: int = 2
    dropout: float = 0.1
    max_events: int = 64
    n_services: int = 8
    recency_buckets: int = 24


def recency_bucket(days: torch.Tensor, buckets: int) -> torch.Tensor:
    """Bucket ``days`` (>= 0) on a log2 scale, two buckets per doubling: (B, L) -> (B, L) long."""
    b = torch.floor(2 * torch.log2(1 + days.clamp(min=0)))
    return b.clamp(max=buckets - 1).long()


class SequenceEncoder(nn.Module):
    """Event vectors ``(B, L, input_dim)`` + mask ``(B, L)`` -> user vectors ``(B, out_dim)``."""

    def __init__(self, config: SequenceEncoderConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.project = nn.Sequential(nn.Linear(c.input_dim, c.dim), nn.LayerNorm(c.dim))
        self.position = nn.Embedding(c.max_events, c.dim)
        self.recency = nn.Embedding(c.recency_buckets, c.dim)
        self.service = nn.Embedding(c.n_services, c.dim)
        self.dropout = nn.Dropout(c.dropout)
        layer = nn.TransformerEncoderLayer(
            c.dim, c.heads, c.ff_mult * c.dim, c.dropout, batch_first=True, norm_first=True
        )
        self.transformer = (
            nn.TransformerEncoder(layer, c.layers, enable_nested_tensor=False) if c.layers else None
        )
        self.norm = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, c.out_dim)
        self._init()

    def _init(self) -> None:
        for emb in (self.position, self.recency, self.service):
            nn.init.normal_(emb.weight, std=0.02)

    def pool(
        self,
        vectors: torch.Tensor,
        mask: torch.Tensor,
        recency_days: torch.Tensor,
        service: torch.Tensor,
    ) -> torch.Tensor:
        """The feature vector: mean of the transformer outputs, before the projection head.

        Args:
            vectors: (B, L, input_dim) event vectors, left-aligned; padding where ``mask`` is False.
            mask: (B, L) True for real events.
            recency_days: (B, L) days before the view's last event.
            service: (B,) service of each view, or (B, L) service of each event.

        Returns:
            (B, dim) pooled features (not normalised).
        """
        c = self.config
        lengths = mask.sum(1, keepdim=True)  # (B, 1)
        steps = torch.arange(mask.shape[1], device=mask.device).unsqueeze(0)
        from_end = (lengths - 1 - steps).clamp(min=0, max=c.max_events - 1)  # 0 = most recent
        x = self.project(vectors)
        x = (
            x
            + self.position(from_end)
            + self.recency(recency_bucket(recency_days, c.recency_buckets))
        )
        if service.ndim == 1:
            service = service.unsqueeze(1).expand(-1, mask.shape[1])
        x = self.dropout(x + self.service(service))
        if self.transformer is not None:
            x = self.transformer(x, src_key_padding_mask=~mask)
        x = self.norm(x)
        weights = mask.unsqueeze(-1).to(x.dtype)
        return (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def forward(
        self,
        vectors: torch.Tensor,
        mask: torch.Tensor,
        recency_days: torch.Tensor,
        service: torch.Tensor,
    ) -> torch.Tensor:
        """Encode a batch for a contrastive loss: :meth:`pool`, then the projection head.

        Returns:
            (B, out_dim) L2-normalised projections.
        """
        return F.normalize(self.head(self.pool(vectors, mask, recency_days, service)), dim=-1)

    def extra_repr(self) -> str:
        """Parameter count, shown when the module is printed."""
        n = sum(p.numel() for p in self.parameters())
        return f"parameters={n:,} ({n / 1e6:.2f} M), scale={math.log10(max(n, 1)):.1f}"
