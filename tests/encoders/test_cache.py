import numpy as np

from byod.encoders.cache import EmbeddingCache, encode_unique, text_keys
from byod.encoders.hashing import HashingBackbone


class CountingBackbone(HashingBackbone):
    def __init__(self, dim: int = 16) -> None:
        super().__init__(dim)
        self.seen: list[str] = []

    def encode(self, texts, *, batch_size=64, progress=False):
        self.seen.extend(texts)
        return super().encode(texts)


def test_cache_returns_the_same_vectors_as_direct_encoding(tmp_path) -> None:
    bb = CountingBackbone()
    texts = ["무선 헤드폰 | 전자제품", "running shoes", "a b c", "x"]
    direct = bb.encode(texts)
    cache = EmbeddingCache(tmp_path, bb.fingerprint, bb.dim)
    first = encode_unique(texts, bb, cache)
    np.testing.assert_allclose(first, direct)
    # A fresh cache object reads the stored parts: nothing is encoded again.
    bb.seen.clear()
    again = encode_unique(texts[::-1], bb, EmbeddingCache(tmp_path, bb.fingerprint, bb.dim))
    np.testing.assert_allclose(again, direct[::-1])
    assert bb.seen == []


def test_only_missing_texts_are_encoded(tmp_path) -> None:
    bb = CountingBackbone()
    cache = EmbeddingCache(tmp_path, bb.fingerprint, bb.dim)
    encode_unique(["a", "b"], bb, cache)
    bb.seen.clear()
    encode_unique(["a", "b", "c"], bb, cache)
    assert bb.seen == ["c"]
    assert len(cache) == 3


def test_a_backbone_change_invalidates_the_cache(tmp_path) -> None:
    old, new = CountingBackbone(16), CountingBackbone(16)
    new.fingerprint = "hashing-16-retrained"
    encode_unique(["a", "b"], old, EmbeddingCache(tmp_path, old.fingerprint, 16))
    encode_unique(["a", "b"], new, EmbeddingCache(tmp_path, new.fingerprint, 16))
    assert new.seen == ["a", "b"]


def test_keys_are_content_hashes() -> None:
    assert text_keys(["a", "a", "b"])[0] == text_keys(["a"])[0]
    assert len(set(text_keys(["a", "b"]))) == 2
