"""What the objectives see of the model: a batch of views in, embeddings or states out.

The :class:`~byod.pretrain.trainer.Trainer` hands every objective an :class:`Embedder`: calling it
gives the contrastive projections ``(B, out_dim)`` of a batch (what pair objectives and GradCache
need); :meth:`Embedder.states` gives the per-position outputs ``(B, L, dim)`` and
:meth:`Embedder.items` the item table's embeddings, what ``next-item`` scores against each other.
"""

from __future__ import annotations

import dataclasses

import torch

from byod.encoders.histories import Batch
from byod.encoders.sequence import SequenceEncoder

__all__ = ["Embedder"]


@dataclasses.dataclass
class Embedder:
    """The model over a fixed table of event-text vectors.

    Attributes:
        model: the sequence encoder.
        table: (T, input_dim) event-text vectors (``HistoryArrays.vectors``) on ``device``.
        ids: (T,) hashed item-id bucket of each text, or None (text only).
        device: where the model runs.
        whitened: ``table`` already went through ``model.whiten_vectors``.
    """

    model: SequenceEncoder
    table: torch.Tensor
    ids: torch.Tensor | None
    device: torch.device
    whitened: bool = False

    def _inputs(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        b = batch.to(self.device)
        ids = self.ids[b.events] if self.ids is not None else None
        return self.table[b.events], b.mask, b.recency, b.service, ids

    def __call__(self, batch: Batch) -> torch.Tensor:
        """Contrastive projections ``(B, out_dim)``, L2-normalised."""
        return self.model(*self._inputs(batch), whitened=self.whitened)

    def pooled(self, batch: Batch) -> torch.Tensor:
        """Pooled features ``(B, dim)`` before the projection head."""
        return self.model.pool(*self._inputs(batch), whitened=self.whitened)

    def states(self, batch: Batch) -> torch.Tensor:
        """Per-position outputs ``(B, L, dim)`` (causal when the model is)."""
        return self.model.states(*self._inputs(batch), whitened=self.whitened)

    def query(self, states: torch.Tensor, next_service: torch.Tensor | None) -> torch.Tensor:
        """Next-item queries ``(N, dim)`` from states ``(N, dim)`` (:meth:`SequenceEncoder.query`).

        ``next_service`` None (what the objective passes for a model without service queries)
        leaves the states as they are.
        """
        if next_service is None:
            return states
        return self.model.query(states, next_service)

    def items(self, index: torch.Tensor | None = None) -> torch.Tensor:
        """Embeddings ``(T, dim)`` of the whole table, or ``(M, dim)`` of rows ``index``."""
        if index is None:
            return self.model.embed_items(self.table, self.ids, whitened=self.whitened)
        index = index.to(self.device)
        ids = self.ids[index] if self.ids is not None else None
        return self.model.embed_items(self.table[index], ids, whitened=self.whitened)
