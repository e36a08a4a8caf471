"""The users' labels, whatever the run has, aligned to a feature table's rows."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import polars as pl

__all__ = ["UserLabels", "user_labels", "MAX_COLOURS"]

MAX_COLOURS = 9  # the map shows this many labels of a column; the rest are "other"


@dataclasses.dataclass(frozen=True)
class UserLabels:
    """Per label column, each user's label (None where unknown), in a feature table's row order.

    Attributes:
        columns: task name -> ``(n_users,)`` object array of str or None, in the run's order.
    """

    columns: dict[str, np.ndarray]

    @property
    def tasks(self) -> list[str]:
        """The label columns, in order."""
        return list(self.columns)

    def take(self, rows: np.ndarray) -> UserLabels:
        """The labels of a subset of users, ``rows`` ``(m,)`` indices."""
        return UserLabels({t: v[rows] for t, v in self.columns.items()})

    def top(self, task: str, n: int = MAX_COLOURS) -> list[str]:
        """The ``n`` most frequent labels of ``task`` (ties by name)."""
        counts = collections.Counter(v for v in self.columns[task] if v is not None)
        return [label for label, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def user_labels(
    labels: pl.DataFrame | None, user_ids: list[str], tasks: list[str] | None = None
) -> UserLabels:
    """Look up each user's label for every task of the run.

    Args:
        labels: ``user_id, task, label`` rows, or None (no labels: no columns).
        user_ids: the users, ``(n_users,)``.
        tasks: the tasks to keep, in this order (None: every task, in the labels' order).

    Returns:
        One column per task (a user's first label when it has several).
    """
    if labels is None:
        return UserLabels({})
    present = labels["task"].unique(maintain_order=True).to_list()
    wanted = [t for t in (tasks or present) if t in present]
    columns = {}
    for task in wanted:
        rows = labels.filter(pl.col("task") == task).unique("user_id", keep="first")
        lookup = dict(zip(rows["user_id"], rows["label"], strict=True))
        column = np.empty(len(user_ids), dtype=object)
        column[:] = [lookup.get(u) for u in user_ids]
        columns[task] = column
    return UserLabels(columns)
