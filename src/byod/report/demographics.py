"""Per-user gender, coarse age group and occupation, aligned to a feature table's rows."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import numpy as np
import polars as pl

__all__ = ["AGE_GROUPS", "Demographics", "age_group", "is_woman", "demographics"]

AGE_GROUPS = ("<25", "25-44", "45+")
_WOMEN = frozenset({"f", "female", "w", "woman", "women"})
_MEN = frozenset({"m", "male", "man", "men"})


def age_group(label: str | None) -> str | None:
    """Map an age bucket (``"18-24"``, ``"56+"``, ``"under 18"``) or an age to a coarse group.

    The bucket's lower bound decides: below 25 -> ``<25``, 25 to 44 -> ``25-44``, else ``45+``.

    Returns:
        One of :data:`AGE_GROUPS`, or None when no number can be read.
    """
    if label is None:
        return None
    text = label.strip().lower()
    if text.startswith(("under", "<")):
        return AGE_GROUPS[0]
    match = re.search(r"\d+", text)
    if match is None:
        return None
    low = int(match.group())
    return AGE_GROUPS[0] if low < 25 else AGE_GROUPS[1] if low < 45 else AGE_GROUPS[2]


def is_woman(label: str | None) -> bool | None:
    """True for F / female / woman, False for M / male / man, None for anything else."""
    text = (label or "").strip().lower()
    return True if text in _WOMEN else False if text in _MEN else None


@dataclasses.dataclass(frozen=True)
class Demographics:
    """Labels of the users of a feature table, in its row order (None where unknown).

    Attributes:
        woman: ``(n_users,)`` object array of True / False / None.
        age_group: ``(n_users,)`` object array of :data:`AGE_GROUPS` members or None.
        occupation: ``(n_users,)`` object array of str or None.
    """

    woman: np.ndarray
    age_group: np.ndarray
    occupation: np.ndarray

    def take(self, rows: np.ndarray) -> Demographics:
        """The labels of a subset of users, ``rows`` ``(m,)`` indices."""
        return Demographics(self.woman[rows], self.age_group[rows], self.occupation[rows])


def demographics(labels: pl.DataFrame | None, user_ids: list[str]) -> Demographics:
    """Look up each user's gender, age group and occupation.

    Args:
        labels: ``user_id, task, label`` rows (tasks ``gender``, ``age``, ``occupation``), or None.
        user_ids: the users, ``(n_users,)``.

    Returns:
        The users' labels, all None when ``labels`` is None or lacks a task.
    """
    n = len(user_ids)
    by_task: dict[str, dict[str, str]] = {}
    if labels is not None:
        for task in ("gender", "age", "occupation"):
            rows = labels.filter(pl.col("task") == task).unique("user_id", keep="first")
            by_task[task] = dict(zip(rows["user_id"], rows["label"], strict=True))

    def column(task: str, fn: Callable[[str | None], object]) -> np.ndarray:
        lookup = by_task.get(task, {})
        out = np.empty(n, dtype=object)
        out[:] = [fn(lookup.get(u)) for u in user_ids]
        return out

    return Demographics(
        woman=column("gender", is_woman),
        age_group=column("age", age_group),
        occupation=column("occupation", lambda x: x),
    )
