"""Multi-label softmax: one user vector against the set of items it goes on to use.

Inputs:
    ``users``: (B, d) user vectors; ``targets``: (B, M) 0/1 (or counts) marking each user's
    future items among the M columns of ``items`` (M, d): the whole table, or sampled candidates
    with their ``log_q`` (M,) as in :mod:`byod.losses.sampled_softmax`.

Relations:
    ``logp = log_softmax(users @ items.T - log_q)`` per row; the loss is the cross-entropy
    against the row's targets normalised to sum to 1: ``-(targets / targets.sum(1)) . logp``,
    averaged over the rows that have a target (the "softmax over the set" of multi-label
    retrieval, e.g. YouTube DNN / Mult-VAE's multinomial likelihood). Rows without targets add
    nothing.

Example:
    >>> loss = SetSoftmaxLoss()
    >>> value = loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]]), torch.eye(2))
    >>> round(float(value), 4)  # -(log p0 + log p1) / 2 with logits [1, 0]
    0.8133
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SetSoftmaxLoss"]


class SetSoftmaxLoss(nn.Module):
    """Cross-entropy of a softmax over items against each row's normalised target set."""

    def forward(
        self,
        users: torch.Tensor,
        targets: torch.Tensor,
        items: torch.Tensor,
        log_q: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean loss over rows with at least one target (0 when none has)."""
        logits = users @ items.T
        if log_q is not None:
            logits = logits - log_q
        mass = targets.sum(1)
        keep = mass > 0
        if not keep.any():
            return logits.sum() * 0.0
        weights = targets[keep] / mass[keep, None]
        return -(weights * F.log_softmax(logits[keep], dim=1)).sum(1).mean()
