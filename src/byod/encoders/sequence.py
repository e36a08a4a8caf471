"""The sequence encoder: event vectors of one history in, one L2-normalised user vector out.

CLUE's service transformer over item vectors, with mean pooling. Each event vector (from the frozen
text backbone) is projected, then gets three learned embeddings added: its position counted from
the most recent event, its recency bucket (log-scaled days before the history's last event) and the
history's service (or each event's own service in a slice of a merged timeline). A small
pre-norm transformer mixes them; the mean of the valid outputs is the feature vector
(:meth:`SequenceEncoder.pool`), and its projection by a head, L2-normalised, is what the
contrastive losses see (:meth:`SequenceEncoder.forward`); as in SimCLR, features are taken before
the projection head.

For the ``next-item`` objective the encoder is *causal* (``causal=True``: each position attends
only to itself and earlier events) and its per-position outputs (:meth:`SequenceEncoder.states`)
are scored against an item table built by the same input map (:meth:`SequenceEncoder.embed_items`,
tied input / output item embeddings as in SASRec): an item is its text vector, optionally whitened
(``whiten``) and projected, plus an optional hashed item-id embedding (``id_buckets`` > 0) that only
counts for items seen in pretraining (others fall back to the text alone). With
``service_query=True`` the query is told which service the next event is in
(:meth:`SequenceEncoder.query`: a residual block over the state plus a learned embedding of that
service), so a model of a merged timeline ranks one service's items for one service's question.
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
        causal: each position attends only to itself and earlier events (next-item training);
            the pooled feature is then the mean of the causal outputs.
        whiten: whiten event vectors (PCA whitening fitted on the training item table, kept in
            the weights) before the input projection.
        id_buckets: rows of the item-id embedding (0: text only).
        id_lookup: how an item's hashed key finds its row: ``exact`` (the sorted keys of the
            pretraining items, one row each, no collisions; what ``byod pretrain`` builds) or
            ``modulo`` (key modulo ``id_buckets``, a collision's loser is text alone; models
            saved before the exact lookup, which have no such field).
        service_query: the next-item query is conditioned on the next event's service
            (:meth:`SequenceEncoder.query`); off in models saved before it.
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
    causal: bool = False
    whiten: bool = False
    id_buckets: int = 0
    id_lookup: str = "modulo"
    service_query: bool = False


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
        if c.whiten:
            self.register_buffer("white_mean", torch.zeros(c.input_dim))
            self.register_buffer("white_matrix", torch.eye(c.input_dim))
        if c.id_buckets:
            self.item_id = nn.Embedding(c.id_buckets, c.dim)
            # The key of the pretraining item that owns each bucket (0: none): an item whose key
            # differs (an unseen item, or the loser of a collision) is its text alone.
            self.register_buffer("id_key", torch.zeros(c.id_buckets, dtype=torch.int64))
        if c.service_query:
            self.query_service = nn.Embedding(c.n_services, c.dim)
            self.query_block = nn.Sequential(
                nn.LayerNorm(c.dim),
                nn.Linear(c.dim, c.ff_mult * c.dim),
                nn.GELU(),
                nn.Linear(c.ff_mult * c.dim, c.dim),
            )
            self.query_norm = nn.LayerNorm(c.dim)
        self._init()

    def _init(self) -> None:
        for emb in (self.position, self.recency, self.service):
            nn.init.normal_(emb.weight, std=0.02)
        if self.config.service_query:
            nn.init.normal_(self.query_service.weight, std=0.02)
            # the block starts as the identity: a new model's query is its state
            nn.init.zeros_(self.query_block[-1].weight)
            nn.init.zeros_(self.query_block[-1].bias)
        if self.config.id_buckets:
            nn.init.normal_(self.item_id.weight, std=0.02)

    @torch.no_grad()
    def fit_whitening(self, vectors: torch.Tensor, shrink: float = 0.01) -> None:
        """Fit PCA whitening on item vectors ``(T, input_dim)``.

        Eigenvalues get ``shrink`` x their mean added, so near-empty directions are not blown up.
        """
        if not self.config.whiten:
            raise ValueError("this encoder was built with whiten=False")
        x = vectors.double()
        mean = x.mean(0)
        cov = torch.cov((x - mean).T) if len(x) > 1 else torch.eye(x.shape[1], dtype=x.dtype)
        vals, vecs = torch.linalg.eigh(cov)
        vals = vals.clamp(min=0) + shrink * vals.clamp(min=0).mean() + 1e-12
        self.white_mean.copy_(mean.float())
        self.white_matrix.copy_((vecs / vals.sqrt()).float())

    @torch.no_grad()
    def mark_seen(self, keys: torch.Tensor) -> None:
        """Give the items of hashed keys ``(n,)`` (seen in pretraining) their id rows.

        ``exact``: the distinct keys, sorted, one row each (beyond ``id_buckets`` rows the
        largest keys are left to their text); ``modulo``: a bucket per key, the last one wins.
        """
        if self.config.id_lookup == "exact":
            seen = torch.unique(keys)[: self.config.id_buckets]  # sorted
            table = torch.full_like(self.id_key, torch.iinfo(torch.int64).max)
            table[: len(seen)] = seen
            self.id_key.copy_(table)
        else:
            self.id_key[keys % self.config.id_buckets] = keys

    def item_ids(self, keys: torch.Tensor) -> torch.Tensor:
        """Id row of each hashed item key ``(...)``; -1 for an item not seen in pretraining."""
        if self.config.id_lookup == "exact":
            rows = torch.searchsorted(self.id_key, keys).clamp(max=self.config.id_buckets - 1)
        else:
            rows = keys % self.config.id_buckets
        return torch.where(self.id_key[rows] == keys, rows, -1)

    def whiten_vectors(self, vectors: torch.Tensor) -> torch.Tensor:
        """Text vectors ``(..., input_dim)`` whitened (unchanged when ``whiten`` is off).

        The whitening is fixed after :meth:`fit_whitening`, so a trainer whitens its table once
        and passes ``whitened=True`` (on a 16 K-item table this was two thirds of the cost of
        :meth:`embed_items`, paid at every step).
        """
        if not self.config.whiten:
            return vectors
        return (vectors - self.white_mean.to(vectors.dtype)) @ self.white_matrix.to(vectors.dtype)

    def embed_items(
        self, vectors: torch.Tensor, ids: torch.Tensor | None = None, *, whitened: bool = False
    ) -> torch.Tensor:
        """Item (or event) embeddings ``(..., dim)`` from text vectors ``(..., input_dim)``.

        ``ids`` ``(...)`` are id buckets from :meth:`item_ids` (only used when ``id_buckets`` >
        0); -1 (an item not seen in pretraining) adds nothing: that item is its text alone.
        ``whitened``: the vectors already went through :meth:`whiten_vectors`.
        """
        x = self.project(vectors if whitened else self.whiten_vectors(vectors))
        if self.config.id_buckets and ids is not None:
            known = (ids >= 0).unsqueeze(-1).to(x.dtype)
            x = x + self.item_id(ids.clamp(min=0)) * known
        return x

    def states(
        self,
        vectors: torch.Tensor,
        mask: torch.Tensor,
        recency_days: torch.Tensor,
        service: torch.Tensor,
        ids: torch.Tensor | None = None,
        *,
        whitened: bool = False,
    ) -> torch.Tensor:
        """Per-position outputs ``(B, L, dim)`` (causal when ``config.causal``).

        Args:
            vectors: (B, L, input_dim) event vectors, left-aligned; padding where ``mask`` is False.
            mask: (B, L) True for real events.
            recency_days: (B, L) days before the view's last event.
            service: (B,) service of each view, or (B, L) service of each event.
            ids: (B, L) hashed item-id buckets (None: text only).
            whitened: ``vectors`` are already whitened (:meth:`whiten_vectors`).
        """
        c = self.config
        lengths = mask.sum(1, keepdim=True)  # (B, 1)
        steps = torch.arange(mask.shape[1], device=mask.device).unsqueeze(0)
        from_end = (lengths - 1 - steps).clamp(min=0, max=c.max_events - 1)  # 0 = most recent
        x = self.embed_items(vectors, ids, whitened=whitened)
        x = (
            x
            + self.position(from_end)
            + self.recency(recency_bucket(recency_days, c.recency_buckets))
        )
        if service.ndim == 1:
            service = service.unsqueeze(1).expand(-1, mask.shape[1])
        x = self.dropout(x + self.service(service))
        if self.transformer is not None and c.causal:
            # Views are left-aligned: padding follows every real event, so the causal mask
            # already hides it from real positions. Without a key-padding mask, attention takes
            # SDPA's fused causal kernel (padding positions' outputs are never read).
            n = mask.shape[1]
            causal = torch.ones(n, n, dtype=torch.bool, device=mask.device).triu(1)
            x = self.transformer(x, mask=causal, is_causal=True)
        elif self.transformer is not None:
            x = self.transformer(x, src_key_padding_mask=~mask)
        return self.norm(x)

    def pool(
        self,
        vectors: torch.Tensor,
        mask: torch.Tensor,
        recency_days: torch.Tensor,
        service: torch.Tensor,
        ids: torch.Tensor | None = None,
        *,
        whitened: bool = False,
    ) -> torch.Tensor:
        """The feature vector: mean of the outputs over real events, before the projection head.

        Inputs as :meth:`states`. Returns (B, dim) pooled features (not normalised).
        """
        x = self.states(vectors, mask, recency_days, service, ids, whitened=whitened)
        weights = mask.unsqueeze(-1).to(x.dtype)
        return (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def query(self, states: torch.Tensor, next_service: torch.Tensor | None) -> torch.Tensor:
        """Next-item queries ``(..., dim)`` from states ``(..., dim)``.

        With ``service_query``, ``next_service`` ``(...)`` is the service index of the event
        asked for (0, or None: not said): ``norm(s + block(s + embedding(service)))``, so the
        query can depend on the service nonlinearly (an added vector alone would only shift
        every item of a service by the same amount). Without it the states are the queries.
        """
        if not self.config.service_query:
            return states
        if next_service is None:
            next_service = torch.zeros(states.shape[:-1], dtype=torch.long, device=states.device)
        asked = self.query_service(next_service.to(states.device))
        return self.query_norm(states + self.query_block(states + asked))

    def last_state(
        self,
        vectors: torch.Tensor,
        mask: torch.Tensor,
        recency_days: torch.Tensor,
        service: torch.Tensor,
        ids: torch.Tensor | None = None,
        next_service: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The next-item query after each view's last real event ``(B, dim)``.

        ``next_service`` ``(B,)``: the service the next event is asked in (:meth:`query`).
        """
        x = self.states(vectors, mask, recency_days, service, ids)
        last = (mask.sum(1) - 1).clamp(min=0)
        return self.query(x[torch.arange(len(x), device=x.device), last], next_service)

    def forward(
        self,
        vectors: torch.Tensor,
        mask: torch.Tensor,
        recency_days: torch.Tensor,
        service: torch.Tensor,
        ids: torch.Tensor | None = None,
        *,
        whitened: bool = False,
    ) -> torch.Tensor:
        """Encode a batch for a contrastive loss: :meth:`pool`, then the projection head.

        Returns:
            (B, out_dim) L2-normalised projections.
        """
        pooled = self.pool(vectors, mask, recency_days, service, ids, whitened=whitened)
        return F.normalize(self.head(pooled), dim=-1)

    def extra_repr(self) -> str:
        """Parameter count, shown when the module is printed."""
        n = sum(p.numel() for p in self.parameters())
        return f"parameters={n:,} ({n / 1e6:.2f} M), scale={math.log10(max(n, 1)):.1f}"
