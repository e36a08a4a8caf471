"""Symmetric InfoNCE over paired embeddings with in-batch negatives (CLIP / CLUE style).

Inputs:
    ``a``, ``b``: (B, d) L2-normalised embeddings; row ``i`` of ``a`` and row ``i`` of ``b`` are a
    positive pair (the same user), every other row of the other side is a negative.

Relations:
    With a fixed temperature ``t`` and ``logits = a @ b.T / t`` the loss is
    ``(CE(logits, arange(B)) + CE(logits.T, arange(B))) / 2``. With ``learnable=True`` the scale
    ``1 / t`` is a parameter (stored as its log, clamped at 100 as in CLIP).
    The batch must not hold the same user twice: a duplicate would be a false negative. The
    pair samplers in :mod:`byod.pretrain.views` draw each user at most once per batch.

Example:
    >>> loss = InfoNCELoss(temperature=0.05)
    >>> a = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    >>> value = loss(a, a)  # identical pairs: a low loss
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["InfoNCELoss"]

_MAX_SCALE = 100.0


class InfoNCELoss(nn.Module):
    """Symmetric in-batch InfoNCE; temperature fixed or learned.

    Args:
        temperature: initial (or fixed) temperature.
        learnable: learn the temperature.
    """

    def __init__(self, temperature: float = 0.05, learnable: bool = False) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.learnable = learnable
        log_scale = torch.tensor(math.log(1.0 / temperature))
        if learnable:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)

    @property
    def scale(self) -> torch.Tensor:
        """The current ``1 / temperature``, clamped."""
        return self.log_scale.exp().clamp(max=_MAX_SCALE)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Loss for (B, d) pairs ``a[i] <-> b[i]``; a scalar."""
        if a.shape != b.shape or a.ndim != 2:
            raise ValueError(
                f"a and b must both be (B, d); got {tuple(a.shape)} and {tuple(b.shape)}"
            )
        if a.shape[0] < 2:
            raise ValueError(
                "InfoNCE needs at least 2 pairs per batch (one positive, one negative)"
            )
        logits = self.scale * (a @ b.T)
        target = torch.arange(a.shape[0], device=a.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2

    def get_config_dict(self) -> dict[str, float | bool]:
        """The hyper-parameters (for saving with a model)."""
        return {"temperature": self.temperature, "learnable": self.learnable}
