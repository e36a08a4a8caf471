"""Event-text vectors cached per unique text, per backbone.

Encoding dominates the cost of embedding users, and logs repeat themselves: ML-1M's 1,000,209
ratings have about 18 thousand distinct event texts. The cache maps ``sha256(text)`` to the
backbone's vector and lives in ``<root>/<backbone fingerprint>/``, so a new backbone (different
weights) never sees another's vectors. New vectors are appended as new Parquet parts, written
atomically; a crash loses at most the part being written.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import numpy as np
import polars as pl

from byod.atomic import write_parquet
from byod.encoders.backbone import TextBackbone

__all__ = ["EmbeddingCache", "text_keys", "encode_unique"]


def text_keys(texts: list[str]) -> list[str]:
    """Content keys of ``texts``: hex sha256, first 32 characters (128 bits)."""
    return [hashlib.sha256(t.encode("utf-8")).hexdigest()[:32] for t in texts]


class EmbeddingCache:
    """On-disk map from text key to vector for one backbone fingerprint.

    Args:
        root: the cache folder shared by all backbones.
        fingerprint: the backbone's fingerprint.
        dim: vector size.
    """

    def __init__(self, root: str | Path, fingerprint: str, dim: int) -> None:
        self.dir = Path(root) / fingerprint
        self.dim = dim
        self._index: dict[str, int] = {}
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._load()

    def __len__(self) -> int:
        return len(self._index)

    def _load(self) -> None:
        parts = sorted(self.dir.glob("part-*.parquet")) if self.dir.exists() else []
        if not parts:
            return
        df = pl.concat([pl.read_parquet(p) for p in parts]).unique(
            "key", keep="first", maintain_order=True
        )
        vectors = np.asarray(df["vector"].to_numpy(), dtype=np.float32).reshape(-1, self.dim)
        self._vectors = vectors
        self._index = {k: i for i, k in enumerate(df["key"].to_list())}

    def lookup(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(found_mask (n,), vectors (n, dim))``; rows not found are zero."""
        rows = np.array([self._index.get(k, -1) for k in keys], dtype=np.int64)
        found = rows >= 0
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        out[found] = self._vectors[rows[found]]
        return found, out

    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Store new ``(n, dim)`` vectors under ``keys`` (one new Parquet part)."""
        new = [i for i, k in enumerate(keys) if k not in self._index]
        if not new:
            return
        vectors = np.asarray(vectors, dtype=np.float32)[new]
        new_keys = [keys[i] for i in new]
        df = pl.DataFrame(
            {"key": new_keys, "vector": vectors},
            schema={"key": pl.String, "vector": pl.Array(pl.Float32, self.dim)},
        )
        write_parquet(df, self.dir / f"part-{uuid.uuid4().hex}.parquet")
        start = len(self._vectors)
        self._vectors = np.concatenate([self._vectors, vectors])
        self._index.update({k: start + i for i, k in enumerate(new_keys)})


def encode_unique(
    texts: list[str],
    backbone: TextBackbone,
    cache: EmbeddingCache | None = None,
    *,
    batch_size: int = 64,
    progress: bool = False,
) -> np.ndarray:
    """Vectors ``(n, dim)`` for distinct ``texts``; cache misses are encoded and stored."""
    if cache is None:
        return backbone.encode(texts, batch_size=batch_size, progress=progress)
    keys = text_keys(texts)
    found, out = cache.lookup(keys)
    missing = np.flatnonzero(~found)
    if len(missing):
        # Encode the longest texts together: less padding per batch.
        order = missing[np.argsort([-len(texts[i]) for i in missing], kind="stable")]
        vectors = backbone.encode(
            [texts[i] for i in order], batch_size=batch_size, progress=progress
        )
        out[order] = vectors
        cache.add([keys[i] for i in order], vectors)
    return out
