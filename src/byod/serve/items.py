"""The item side of a deployment: item id → text vector, with a FAISS index for candidates.

The index is over the raw item text vectors with inner product (no normalisation), because a
recommendation head's item tower is linear: its dot score is an inner product of a per-user
query with these vectors (:meth:`RecommendHead.retrieval_query`). Exact search up to
``HNSW_FROM`` items (no recall loss; a few thousand items take microseconds), HNSW above it;
recall@k of the index against exact search is measured when the deployment is built.
"""

from __future__ import annotations

import faiss
import numpy as np

from byod.errors import ByodError

__all__ = ["ANN_KINDS", "HNSW_FROM", "build_item_index", "recall_at_k"]

ANN_KINDS = ("auto", "flat", "hnsw")
HNSW_FROM = 20_000


def build_item_index(vectors: np.ndarray, kind: str = "auto") -> faiss.Index:
    """Inner-product index over ``(n_items, dim)`` vectors: ``flat`` (exact) or ``hnsw``."""
    if kind not in ANN_KINDS:
        raise ByodError(f"ANN kind must be one of {ANN_KINDS}, got {kind!r}")
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if kind == "auto":
        kind = "hnsw" if len(x) >= HNSW_FROM else "flat"
    if kind == "flat":
        index = faiss.IndexFlatIP(x.shape[1])
    else:
        index = faiss.IndexHNSWFlat(x.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 200
        index.hnsw.efSearch = 256  # recall@100 needs a wide beam
    index.add(x)
    return index


def index_kind(index: faiss.Index) -> str:
    """``flat`` or ``hnsw``."""
    return "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"


def recall_at_k(index: faiss.Index, vectors: np.ndarray, queries: np.ndarray, k: int) -> float:
    """Mean share of the exact top-``k`` (inner product over ``vectors``) that ``index`` finds."""
    k = min(k, len(vectors))
    q = np.ascontiguousarray(queries, dtype=np.float32)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _, truth = exact.search(q, k)
    _, found = index.search(q, k)
    hits = [len(set(t.tolist()) & set(f.tolist())) for t, f in zip(truth, found, strict=True)]
    return float(np.mean(hits) / k)
