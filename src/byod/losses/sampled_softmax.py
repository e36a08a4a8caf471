"""Softmax cross-entropy of next-item targets over an item table: full, or sampled with logQ.

Inputs:
    ``states``: (N, d) user states (one per target position); ``targets``: (N,) item indices
    into ``items`` (T, d), the item table's embeddings. Optionally ``candidates`` (M,): the
    distinct item indices the softmax runs over (every target among them), and ``log_q`` (M,):
    the log-probability that each candidate was drawn into that set.

Relations:
    Full softmax (``candidates=None``): ``CE(states @ items.T, targets)``, a softmax over all T
    items. Sampled softmax: ``logits = states @ items[candidates].T - log_q`` and the cross
    entropy against each target's column in ``candidates`` (Bengio & Senecal 2008; the logQ
    correction of Yi et al., RecSys 2019, which keeps popular in-batch items from being
    over-penalised). :func:`sample_candidates` builds the candidate set: the batch's targets
    (in-batch negatives, drawn by popularity) and ``n`` items drawn uniformly from the table, with
    ``q(c) = 1 - exp(-(N p_c + n / T))`` (Poisson approximation of the inclusion probability).

Example:
    >>> loss = SampledSoftmaxLoss()
    >>> items = torch.eye(3)
    >>> value = loss(torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([0]), items)
    >>> round(float(value), 4)  # -log(e^2 / (e^2 + 2))
    0.2395
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SampledSoftmaxLoss", "sample_candidates"]


class SampledSoftmaxLoss(nn.Module):
    """Next-item cross-entropy over all items, or over a sampled candidate set with logQ.

    Args:
        n_negatives: uniform negatives per step for the sampled softmax (0: full softmax).
        full_below: use the full softmax whenever the table has at most this many items.
    """

    def __init__(self, n_negatives: int = 0, full_below: int = 20_000) -> None:
        super().__init__()
        if n_negatives < 0:
            raise ValueError(f"n_negatives must be >= 0, got {n_negatives}")
        self.n_negatives = n_negatives
        self.full_below = full_below

    def sampled(self, n_items: int) -> bool:
        """Whether a table of ``n_items`` gets the sampled softmax."""
        return self.n_negatives > 0 and n_items > self.full_below

    def forward(
        self,
        states: torch.Tensor,
        targets: torch.Tensor,
        items: torch.Tensor,
        candidates: torch.Tensor | None = None,
        log_q: torch.Tensor | None = None,
        exclude: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean cross-entropy of ``targets`` (N,) given ``states`` (N, d).

        ``items`` is the whole table (T, d), or only the candidates' rows (M, d) when
        ``candidates`` (M,, sorted) is given. ``exclude`` (N, T or M) bool removes those
        items from that row's softmax (never the row's target).
        """
        logits = states @ items.T
        if candidates is None:
            column = targets
        else:
            if log_q is not None:
                logits = logits - log_q
            column = torch.searchsorted(candidates, targets)
        if exclude is not None:
            # the target is never excluded: a row with only its target left has loss 0
            keep = torch.zeros_like(exclude).scatter_(1, column.unsqueeze(1), True)
            logits = logits.masked_fill(exclude & ~keep, float("-inf"))
        return F.cross_entropy(logits, column)

    def get_config_dict(self) -> dict[str, int]:
        """The loss's settings."""
        return {"n_negatives": self.n_negatives, "full_below": self.full_below}


def sample_candidates(
    targets: np.ndarray,
    n_items: int,
    n_negatives: int,
    popularity: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct candidates ``(M,)`` (targets + uniform draws) and their ``log q`` ``(M,)``.

    Args:
        targets: (N,) the batch's target items (the in-batch negatives of each other).
        n_items: size of the item table.
        n_negatives: items drawn uniformly (with replacement) from the table.
        popularity: (n_items,) training probability of each item as a target (sums to 1).
        rng: the step's generator.
    """
    drawn = rng.integers(0, n_items, n_negatives)
    candidates = np.unique(np.concatenate([targets, drawn]))
    rate = len(targets) * popularity[candidates] + n_negatives / n_items
    log_q = np.log(-np.expm1(-rate))
    return candidates.astype(np.int64), log_q.astype(np.float32)
