"""Vector helpers every layer shares (one home: nothing else normalises rows by hand)."""

from __future__ import annotations

import numpy as np

__all__ = ["l2_normalise"]


def l2_normalise(vectors: np.ndarray, *, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """Scale to unit L2 norm along ``axis``; zero vectors stay zero.

    Args:
        vectors: ``(..., d)`` (any shape; float inputs keep their dtype, others become float32).
        axis: the axis holding each vector's components.
        eps: norms below it are treated as ``eps`` (so nothing is divided by zero).

    Returns:
        A new array of the same shape.
    """
    x = np.asarray(vectors)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), eps)
