"""Contrastive negatives from every worker, with gradients through the gather.

With N workers holding B pairs each, every worker embeds only its own B pairs, then gathers all
N x B embeddings (``torch.distributed.nn.functional.all_gather``, whose backward hands each
worker the gradient of its own rows, summed over workers) and computes the loss of the whole
global batch: every anchor sees N * B - 1 negatives, as one process with the full batch would.
This is open_clip's ``gather_features(..., gather_with_grad=True)``.

Why the gradient comes out exact: every worker computes the same global loss ``L``; the
gather's backward gives worker ``r`` the gradient ``N * dL/dz_r`` of its rows, so its parameter
gradient is ``N * dL/dz_r * dz_r/dtheta``; averaging over the N workers
(:func:`average_gradients`) gives ``sum_r dL/dz_r * dz_r/dtheta = dL/dtheta``, the full-batch
gradient. The loss's own parameters (the temperature) get ``dL/ds`` on every worker.

:func:`distribute` installs this on the trainer's :class:`~byod.pretrain.objectives.ObjectiveMix`
without changing its code: each objective draws the pairs of the whole global batch (the same
random views as one process would draw) and keeps its worker's rows; its loss sees the gathered
rows; after the step's backward passes (GradCache may run several) the gradients are averaged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn import functional as F

from byod.encoders.histories import Batch
from byod.errors import ByodError
from byod.pretrain.base import Objective

__all__ = ["gather_rows", "local_span", "average_gradients", "distribute", "negatives_per_anchor"]


def _world() -> tuple[int, int]:
    if not (dist.is_available() and dist.is_initialized()):
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def gather_rows(x: torch.Tensor) -> torch.Tensor:
    """Every worker's rows of ``x`` (n_r, d), concatenated in rank order: (sum_r n_r, d).

    Workers may hold different numbers of rows (padded for the collective, trimmed after).
    Gradients flow back to each worker's own rows.
    """
    rank, world = _world()
    if world == 1:
        return x
    n = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n)
    counts = [int(s) for s in sizes]
    padded = F.pad(x, (0, 0, 0, max(counts) - x.shape[0]))
    with warnings.catch_warnings():  # torch 2.13 flags it for a private successor; it works
        warnings.simplefilter("ignore", FutureWarning)
        parts = torch.distributed.nn.functional.all_gather(padded)
    return torch.cat([p[:k] for p, k in zip(parts, counts, strict=True)])


def local_span(n_rows: int, rank: int, world: int) -> tuple[int, int]:
    """``[start, stop)`` of worker ``rank``'s rows among ``n_rows`` (sizes differ by at most 1)."""
    bounds = np.linspace(0, n_rows, world + 1).round().astype(int)
    return int(bounds[rank]), int(bounds[rank + 1])


def average_gradients(params: Iterable[nn.Parameter]) -> None:
    """Average ``.grad`` over the workers with one all-reduce (a missing grad counts as zero)."""
    _, world = _world()
    if world == 1:
        return
    params = list(params)
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for p in params:
        p.grad.copy_(flat[offset : offset + p.numel()].view_as(p))
        offset += p.numel()


def negatives_per_anchor(per_worker: int, workers: int) -> int:
    """In-batch negatives each anchor sees with gathered embeddings: ``N * B - 1``."""
    return per_worker * workers - 1


def _local_pairs(pairs: Callable[..., tuple[Batch, Batch]]) -> Callable[..., tuple[Batch, Batch]]:
    def local(*args: Any, **kwargs: Any) -> tuple[Batch, Batch]:
        a, b = pairs(*args, **kwargs)  # the global batch's views: the same draws on every worker
        rank, world = _world()
        start, stop = local_span(len(a), rank, world)
        return a.slice(start, stop), b.slice(start, stop)

    return local


def _gather_inputs(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return tuple(gather_rows(t) for t in args)


def distribute(mix: nn.Module, params: Iterable[nn.Parameter]) -> nn.Module:
    """Make an ``ObjectiveMix`` data-parallel across the initialised process group, in place.

    Args:
        mix: the trainer's loss (its ``objectives`` draw pairs and score embeddings).
        params: every trained parameter (model and loss): averaged after each step's backward.

    Returns:
        ``mix``, whose ``backward`` now works on this worker's share of the global batch.
    """
    params = list(params)
    for objective in mix.objectives:
        # Only pair objectives draw views through ``pairs`` and score them in ``forward``; the
        # causal ones (next-item, future) run their own backward over windows, not gathered yet.
        if type(objective).backward is not Objective.backward:
            raise ByodError(
                f"--backend ray trains pair objectives (clue, slices, simclr); "
                f"{objective.name!r} trains in one process for now (drop --backend ray)"
            )
        objective.pairs = _local_pairs(objective.pairs)
        objective.register_forward_pre_hook(_gather_inputs)
    backward = mix.backward

    def synced_backward(*args: Any, **kwargs: Any) -> float:
        value = backward(*args, **kwargs)
        average_gradients(params)
        return value

    mix.backward = synced_backward
    return mix
