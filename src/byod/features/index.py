"""Nearest-neighbour search over user vectors with FAISS (inner product on L2-normalised rows)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from byod.atomic import atomic_path

__all__ = ["build_index", "write_index", "read_index", "search"]


def build_index(vectors: np.ndarray) -> faiss.Index:
    """Exact inner-product index over ``(n, dim)`` vectors (normalised here, so IP = cosine).

    Exact search is the right default up to a few million users on one machine: no recall loss,
    no training; an IVF index with a low ``nprobe`` silently misses neighbours.
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32).copy()
    faiss.normalize_L2(x)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    return index


def write_index(index: faiss.Index, path: str | Path) -> Path:
    """Write ``index`` atomically."""
    with atomic_path(path) as tmp:
        faiss.write_index(index, str(tmp))
    return Path(path)


def read_index(path: str | Path) -> faiss.Index:
    """Read an index written by :func:`write_index`."""
    return faiss.read_index(str(path))


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` rows for ``(q, dim)`` queries: ``(scores (q, k), rows (q, k))``; -1 pads."""
    x = np.ascontiguousarray(queries, dtype=np.float32).copy()
    faiss.normalize_L2(x)
    return index.search(x, min(k, index.ntotal))
