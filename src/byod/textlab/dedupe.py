"""Drop duplicate generated texts: exact (after case and whitespace folding) and near (cosine).

A generated text that repeats a real example, or another generated one, adds weight to one point
instead of new information. Near duplicates are found with the sentence encoder: a text whose
cosine similarity to any earlier kept text (real ones first) reaches ``threshold`` is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from byod.vectors import l2_normalise

__all__ = ["dedupe", "dedupe_frame", "fold_text"]


def dedupe(
    texts: Sequence[str],
    vectors: np.ndarray | None = None,
    *,
    reference: Sequence[str] = (),
    reference_vectors: np.ndarray | None = None,
    threshold: float = 0.95,
) -> tuple[np.ndarray, dict[str, int]]:
    """Which of ``texts`` to keep.

    Args:
        texts: candidate texts, in priority order (earlier ones win).
        vectors: ``(len(texts), dim)`` embeddings for near-duplicate checks; ``None``: exact only.
        reference: texts that are always kept (real examples): candidates equal or near them go.
        reference_vectors: ``(len(reference), dim)`` embeddings of ``reference``.
        threshold: cosine similarity at which two texts count as the same.

    Returns:
        ``(keep, counts)``: a boolean mask ``(len(texts),)`` and counts ``{"exact", "near"}`` of
        the dropped ones.
    """
    keep = np.ones(len(texts), dtype=bool)
    seen = {fold_text(t) for t in reference}
    counts = {"exact": 0, "near": 0}
    for i, t in enumerate(texts):
        key = fold_text(t)
        if key in seen:
            keep[i] = False
            counts["exact"] += 1
        seen.add(key)
    if vectors is None or not keep.any():
        return keep, counts
    unit = l2_normalise(np.asarray(vectors, dtype=np.float32))
    kept = l2_normalise(np.asarray(reference_vectors, dtype=np.float32)) if len(reference) else None
    for i in np.flatnonzero(keep):
        if kept is not None and len(kept) and float((kept @ unit[i]).max()) >= threshold:
            keep[i] = False
            counts["near"] += 1
            continue
        kept = unit[i : i + 1] if kept is None else np.vstack([kept, unit[i : i + 1]])
    return keep, counts


def fold_text(text: str) -> str:
    """Case- and whitespace-folded text: the key under which two texts are exact duplicates."""
    return " ".join(str(text).casefold().split())


def dedupe_frame(
    frame: pl.DataFrame,
    real: Sequence[str],
    encode: Callable[[list[str]], np.ndarray] | None = None,
    *,
    threshold: float = 0.95,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """The rows of a generated ``frame`` (its ``text`` column) that duplicate nothing.

    Args:
        frame: generated rows, in priority order.
        real: the real texts (always kept; generated copies of them go).
        encode: ``texts -> (n, dim)`` vectors for near duplicates; ``None``: exact only.
        threshold: cosine similarity at which two texts count as the same.

    Returns:
        ``(kept rows, counts {"exact", "near"})``.
    """
    texts = frame["text"].to_list()
    if encode is None or not texts:
        keep, counts = dedupe(texts, reference=real, threshold=threshold)
    else:
        vectors, real_vectors = encode(texts), encode(list(real))
        keep, counts = dedupe(
            texts, vectors, reference=real, reference_vectors=real_vectors, threshold=threshold
        )
    return frame.filter(pl.Series(keep, dtype=pl.Boolean)), counts
