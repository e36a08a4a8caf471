"""Online stores of user vectors: one interface, in-process (default) or Redis.

:class:`MemoryStore` serves the deployment's ``table/vectors.npy`` memory-mapped (the OS pages
in what is read; nothing to run beside the service). :class:`RedisStore` keeps each vector as
raw float32 bytes under ``PREFIX:VERSION:USER_ID`` so several replicas share one copy and a
table larger than a replica's RAM can be served; keys carry the table version, so a hot swap
loads the new version beside the old one and never mixes them.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from byod.errors import ByodError

__all__ = ["VectorStore", "MemoryStore", "RedisStore"]


class VectorStore(Protocol):
    """User id → vector lookups of one table version."""

    dim: int
    version: str

    def get_many(self, user_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(n, dim)`` float32 vectors (zeros where missing) and a ``(n,)`` found mask."""
        ...

    def __len__(self) -> int:
        """Number of users."""
        ...

    def close(self) -> None:
        """Release connections (a no-op in process)."""
        ...


class MemoryStore:
    """Vectors ``(n_users, dim)`` (a memory map is fine) and their user ids, in process."""

    def __init__(self, user_ids: list[str], vectors: np.ndarray, version: str) -> None:
        if len(user_ids) != len(vectors):
            raise ByodError(f"{len(user_ids)} user ids for {len(vectors)} vectors")
        self._rows = {u: i for i, u in enumerate(user_ids)}
        self._vectors = vectors
        self.dim = int(vectors.shape[1])
        self.version = version

    def get_many(self, user_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """See :class:`VectorStore`."""
        rows = np.array([self._rows.get(u, -1) for u in user_ids], dtype=np.int64)
        found = rows >= 0
        out = np.zeros((len(user_ids), self.dim), dtype=np.float32)
        out[found] = self._vectors[rows[found]]
        return out, found

    def __len__(self) -> int:
        return len(self._rows)

    def close(self) -> None:
        """Nothing to release."""


class RedisStore:
    """Vectors as float32 bytes in Redis, one key per user, namespaced by table version.

    Args:
        client: a ``redis.Redis`` client.
        version: the table version (part of every key).
        dim: vector size (checked on every read).
        prefix: key prefix shared by all versions.
    """

    def __init__(self, client, version: str, dim: int, prefix: str = "byod") -> None:  # noqa: ANN001
        self.client = client
        self.version = version
        self.dim = dim
        self._ns = f"{prefix}:{version}"

    @classmethod
    def connect(cls, url: str, version: str, dim: int, prefix: str = "byod") -> RedisStore:
        """Connect to ``url`` (``redis://host:port/db``) and check it answers."""
        import redis

        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            client.ping()
        except redis.RedisError as exc:
            raise ByodError(f"Redis at {url} does not answer ({exc}); start redis-server") from None
        return cls(client, version, dim, prefix)

    def _key(self, user_id: str) -> str:
        return f"{self._ns}:u:{user_id}"

    def is_loaded(self, n_users: int) -> bool:
        """Whether this version was fully loaded (its marker holds the expected user count)."""
        marker = self.client.get(f"{self._ns}:loaded")
        return marker is not None and int(marker) == n_users

    def load(self, user_ids: list[str], vectors: np.ndarray, *, batch: int = 5000) -> None:
        """Write every vector (pipelined), then the marker saying the version is complete."""
        if vectors.shape[1] != self.dim:
            raise ByodError(f"vectors have dim {vectors.shape[1]}, the store expects {self.dim}")
        for start in range(0, len(user_ids), batch):
            pipe = self.client.pipeline(transaction=False)
            chunk = np.ascontiguousarray(vectors[start : start + batch], dtype=np.float32)
            for uid, vec in zip(user_ids[start : start + batch], chunk, strict=True):
                pipe.set(self._key(uid), vec.tobytes())
            pipe.execute()
        self.client.set(f"{self._ns}:loaded", len(user_ids))

    def get_many(self, user_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """See :class:`VectorStore` (one MGET round trip)."""
        out = np.zeros((len(user_ids), self.dim), dtype=np.float32)
        found = np.zeros(len(user_ids), dtype=bool)
        if not user_ids:
            return out, found
        for i, raw in enumerate(self.client.mget([self._key(u) for u in user_ids])):
            if raw is None:
                continue
            if len(raw) != 4 * self.dim:
                raise ByodError(
                    f"Redis key {self._key(user_ids[i])} holds {len(raw)} bytes, expected "
                    f"{4 * self.dim} (dim {self.dim} float32); reload the deployment"
                )
            out[i] = np.frombuffer(raw, dtype=np.float32)
            found[i] = True
        return out, found

    def __len__(self) -> int:
        marker = self.client.get(f"{self._ns}:loaded")
        return int(marker or 0)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
