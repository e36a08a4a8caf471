"""A hashing bag-of-words backbone: no weights, deterministic, instant.

Each word (lower-cased, split on whitespace and ``|``) adds 1 to one of ``dim`` buckets chosen by a
stable hash, with a hashed sign to keep collisions from only adding up (the "hashing trick").
Useful as a baseline and for tests and smoke runs where a neural backbone would be slow.

:func:`hash_keys` is the same trick for item ids: a stable 63-bit hash of an item's text key;
``key % n`` picks one of ``n`` id-embedding rows, so the id table needs no vocabulary.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from byod.vectors import l2_normalise

__all__ = ["HashingBackbone", "hash_keys"]

_TOKEN = re.compile(r"[^\s|,;:()\[\]]+")


class HashingBackbone:
    """Texts -> ``(n, dim)`` signed hashed word counts, L2-normalised."""

    def __init__(self, dim: int = 64, name: str = "hashing") -> None:
        self.dim = dim
        self.name = name
        self.fingerprint = f"hashing-{dim}"

    def _slot(self, word: str) -> tuple[int, float]:
        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        return h % self.dim, 1.0 if (h >> 63) & 1 else -1.0

    def encode(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Encode ``texts`` into ``(n, dim)`` float32 (``batch_size``/``progress`` are ignored)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _TOKEN.findall(text.lower()):
                slot, sign = self._slot(word)
                out[i, slot] += sign
        return l2_normalise(out)


def hash_keys(keys: list[str]) -> np.ndarray:
    """Stable 63-bit hash ``(len(keys),)`` int64 of each key (blake2b, not Python's ``hash``)."""
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "little") >> 1
            for k in keys
        ],
        dtype=np.int64,
    )
