"""Simple baselines every learned method must beat, computed on the same protocol.

Next-item scorers return ``(n_test_users, n_items)`` score matrices for
:func:`byod.transfer.nextitem.evaluate_scores`; they count only interactions before each user's
validation target (``task.history``) plus, per user, what came before the test target.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize

from byod.features.bag import count_matrix, user_item_matrix
from byod.transfer.nextitem import NextItemTask

__all__ = ["popularity", "item_knn", "cooccurrence", "bag_of_items", "NEXT_ITEM_BASELINES"]


def _counts(task: NextItemTask) -> np.ndarray:
    return np.bincount(task.history["index"].to_numpy(), minlength=task.items.height)


def popularity(task: NextItemTask) -> np.ndarray:
    """Every user gets the item counts of the training history (ties broken at evaluation)."""
    counts = _counts(task).astype(np.float32)
    return np.broadcast_to(counts, (len(task.test_users), len(counts))).copy()


def _before_test(task: NextItemTask) -> pl.DataFrame:
    """Each test user's interactions before the test target, with ``row`` = score-matrix row."""
    rows = pl.DataFrame({"user_id": task.test_users, "row": np.arange(len(task.test_users))})
    return task.ordered.filter(pl.col("role") != "test").join(rows, on="user_id", how="inner")


def item_knn(task: NextItemTask, *, last: int = 50) -> np.ndarray:
    """Sum of cosine item-item similarities to the user's ``last`` items before the test."""
    hist = task.history
    users = hist["user_id"].cast(pl.Categorical).to_physical().to_numpy()
    ui = count_matrix(users, hist["index"].to_numpy(), (users.max() + 1, task.items.height))
    ui.data[:] = 1.0  # binary: a re-rated item counts once
    item_vecs = normalize(ui.T.tocsr())
    recent = _before_test(task).filter(
        pl.col("position") >= pl.col("position").max().over("user_id") - (last - 1)
    )
    profile = count_matrix(
        recent["row"].to_numpy(),
        recent["index"].to_numpy(),
        (len(task.test_users), task.items.height),
    )
    sims = (item_vecs @ item_vecs.T).tocsr()
    return np.asarray((profile @ sims).todense(), dtype=np.float32)


def cooccurrence(task: NextItemTask, *, popularity_tiebreak: bool = True) -> np.ndarray:
    """How often each item directly followed the user's last item in the training history.

    With ``popularity_tiebreak`` a tiny popularity term orders items the counts leave tied.
    """
    hist = task.history.sort("user_id", "position")
    src, dst = hist["index"].to_numpy()[:-1], hist["index"].to_numpy()[1:]
    same_user = hist["user_id"].to_numpy()[:-1] == hist["user_id"].to_numpy()[1:]
    n = task.items.height
    follows = count_matrix(src[same_user], dst[same_user], (n, n))
    before = _before_test(task)
    last = before.filter(pl.col("position") == pl.col("position").max().over("user_id")).sort("row")
    scores = np.zeros((len(task.test_users), n), dtype=np.float32)
    scores[last["row"].to_numpy()] = follows[last["index"].to_numpy()].toarray()
    if popularity_tiebreak:
        counts = _counts(task)
        scores += (counts / (counts.max() + 1.0) * 0.5).astype(np.float32)  # < one co-occurrence
    return scores


NEXT_ITEM_BASELINES = {
    "popularity": popularity,
    "item-knn": item_knn,
    "cooccurrence": cooccurrence,
}


def bag_of_items(
    events: pl.DataFrame, user_ids: list[str], *, column: str = "item_id"
) -> sparse.csr_matrix:
    """TF-IDF weighted user × item matrix ``(len(user_ids), n_items)`` from an events table.

    Rows follow ``user_ids``; users without events get an empty row.
    """
    counts, _ = user_item_matrix(events, user_ids, column=column)
    return TfidfTransformer().fit_transform(counts).tocsr()
