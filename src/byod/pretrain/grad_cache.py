"""Gradient caching (GradCache, Gao et al. 2021): a big contrastive batch in small memory.

The contrastive batch (every pair sees every other as a negative) is embedded in chunks without
gradients, the loss and its gradient with respect to the embeddings are computed on the whole
batch, then each chunk is embedded again with gradients and back-propagated with its cached
embedding gradient. The result equals one pass over the whole batch (dropout masks are replayed
by restoring the random state), while memory holds one chunk's activations at a time. Gradient
accumulation would not do this: it adds no negatives.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from byod.encoders.histories import Batch

__all__ = ["grad_cache_step"]

Embed = Callable[[Batch], torch.Tensor]


def _rng_state() -> tuple:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    return torch.get_rng_state(), cuda


def _set_rng_state(state: tuple) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state_all(state[1])


def grad_cache_step(
    embed: Embed,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    a: Batch,
    b: Batch,
    chunk_size: int,
    *,
    autocast: Callable[[], object] | None = None,
) -> float:
    """Back-propagate ``loss_fn(embed(a), embed(b))`` chunk by chunk; return the loss value.

    Args:
        embed: maps a batch to (n, d) embeddings (with gradients when enabled).
        loss_fn: contrastive loss over the two (B, d) embedding sets.
        a: the first views, B rows.
        b: the second views, B rows (row i pairs with ``a`` row i).
        chunk_size: rows embedded at once.
        autocast: a context-manager factory for mixed precision (None: full precision).
    """
    ctx = autocast if autocast is not None else contextlib.nullcontext
    if len(a) <= chunk_size and len(b) <= chunk_size:
        # The whole batch fits: one plain pass is exact and skips the extra no-grad forward.
        with ctx():
            loss = loss_fn(embed(a).float(), embed(b).float())
        loss.backward()
        return float(loss.detach())
    states: list[tuple] = []
    cached: list[torch.Tensor] = []
    for side in (a, b):
        parts = []
        for start in range(0, len(side), chunk_size):
            states.append(_rng_state())
            with torch.no_grad(), ctx():
                parts.append(embed(side.slice(start, start + chunk_size)).float())
        cached.append(torch.cat(parts))
    za, zb = (z.detach().requires_grad_() for z in cached)
    loss = loss_fn(za, zb)
    loss.backward()  # gradients for the embeddings (and the loss's own parameters)
    grads = [za.grad, zb.grad]
    i = 0
    for side, grad in zip((a, b), grads, strict=True):
        for start in range(0, len(side), chunk_size):
            _set_rng_state(states[i])
            i += 1
            with ctx():
                z = embed(side.slice(start, start + chunk_size)).float()
            z.backward(grad[start : start + chunk_size])
    return float(loss.detach())
