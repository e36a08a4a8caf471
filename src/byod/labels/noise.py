"""Synthetic label noise for measuring an audit: uniform or class-conditional flips."""

from __future__ import annotations

import numpy as np

from byod.errors import ByodError

__all__ = ["corrupt", "NOISE_KINDS"]

NOISE_KINDS = ("uniform", "class_conditional")


def corrupt(
    labels: np.ndarray, rate: float, *, kind: str = "uniform", seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Flip ``rate`` of the labels; return ``(noisy labels, flipped mask)``, both ``(n,)``.

    Exactly ``round(rate * n)`` examples are flipped (so the actual rate equals the nominal one up
    to rounding, unlike per-example coin flips). ``uniform`` sends a flipped label to any other
    class; ``class_conditional`` sends each class to one fixed "confusable" class (a random
    derangement of the classes), the harder, more realistic case.

    Args:
        labels: ``(n,)`` class labels of any type.
        rate: share of examples to flip, in ``[0, 1)``.
        kind: ``uniform`` or ``class_conditional``.
        seed: random seed.
    """
    labels = np.asarray(labels)
    if not 0 <= rate < 1:
        raise ByodError(f"rate must be in [0, 1), got {rate}")
    if kind not in NOISE_KINDS:
        raise ByodError(f"kind must be one of {list(NOISE_KINDS)}, got {kind!r}")
    classes, y = np.unique(labels, return_inverse=True)
    k = len(classes)
    if k < 2:
        raise ByodError(f"labels have {k} class; noise needs at least 2")
    rng = np.random.default_rng(seed)
    flip = np.zeros(len(y), dtype=bool)
    flip[rng.choice(len(y), int(round(rate * len(y))), replace=False)] = True
    noisy = y.copy()
    if kind == "uniform":
        shift = rng.integers(1, k, flip.sum())  # any class but the true one
        noisy[flip] = (y[flip] + shift) % k
    else:
        target = (np.arange(k) + rng.integers(1, k)) % k if k > 2 else np.array([1, 0])
        perm = rng.permutation(k)
        mapping = np.empty(k, dtype=int)
        mapping[perm] = perm[target]  # a derangement: no class maps to itself
        noisy[flip] = mapping[y[flip]]
    return classes[noisy], flip
