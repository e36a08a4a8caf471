"""The one user × item count matrix builder (blocks, baselines and heads all count with it)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import sparse

__all__ = ["count_matrix", "user_item_matrix"]


def count_matrix(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sparse.csr_matrix:
    """``(n_rows, n_cols)`` float32 counts: one per ``(rows[i], cols[i])`` pair (repeats add up)."""
    return sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)


def user_item_matrix(
    events: pl.DataFrame,
    user_ids: Sequence[str],
    *,
    column: str = "item_id",
    items: Sequence[str] | None = None,
) -> tuple[sparse.csr_matrix, list[str]]:
    """How often each user had each item: ``(len(user_ids), n_items)`` float32 counts.

    Args:
        events: rows with ``user_id`` and ``column`` (nulls are skipped).
        user_ids: the rows, in order; users without events get an empty row.
        column: the item column.
        items: the columns, in order (items outside it are dropped); None: every item the
            users had, in order of first appearance.

    Returns:
        The counts and the item of each column.
    """
    order = pl.DataFrame({"user_id": list(user_ids), "_row": np.arange(len(user_ids))})
    pairs = events.filter(pl.col(column).is_not_null()).join(order, on="user_id", how="inner")
    if items is None:
        items = pairs[column].unique(maintain_order=True).to_list()
    vocab = pl.DataFrame(
        {"_item": pl.Series(list(items), dtype=pairs.schema[column]), "_col": np.arange(len(items))}
    )
    pairs = pairs.join(vocab, left_on=column, right_on="_item")
    counts = count_matrix(
        pairs["_row"].to_numpy(), pairs["_col"].to_numpy(), (len(user_ids), len(items))
    )
    return counts, list(items)
