"""The pipeline's input tables, read from whatever was ingested.

- events: the event contract (``byod data ingest``);
- labels: wide (``user_id`` + one column per label) or long (``user_id, task, label``), always
  handed on long, as strings;
- interactions: the events that name an item, with the item's text from an items table
  (``item_id, item_text``) or, without one, the item's first event text.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl

from byod.data.schema import read_table, validate
from byod.data.splits import EVENT_ORDER
from byod.errors import ConfigError, InputFileError
from byod.tabular import read_table as read_user_table

__all__ = ["PipelineTables", "load_tables", "long_labels", "interactions_from_events"]


@dataclasses.dataclass
class PipelineTables:
    """What the pipeline runs on.

    Attributes:
        events: the events (``EVENT_SCHEMA``), in ``(user_id, timestamp, seq)`` order.
        labels: ``user_id, task, label`` rows (strings), or None.
        tasks: the label columns classified (empty without labels).
        interactions: ``user_id, item_id, item_text, timestamp, seq`` (events with an item).
    """

    events: pl.DataFrame
    labels: pl.DataFrame | None
    tasks: list[str]
    interactions: pl.DataFrame


def long_labels(labels: pl.DataFrame, *, source: str = "labels") -> pl.DataFrame:
    """``user_id, task, label`` (strings) from a long or a wide labels table.

    Raises:
        ConfigError: no ``user_id`` column, or no label column.
    """
    if "user_id" not in labels.columns:
        raise ConfigError(f"{source}: needs a user_id column; columns are {labels.columns}")
    if {"task", "label"} <= set(labels.columns):
        long = labels.select("user_id", "task", "label")
    else:
        columns = [c for c in labels.columns if c != "user_id"]
        if not columns:
            raise ConfigError(f"{source}: no label column beside user_id")
        long = labels.select(pl.col("user_id"), *(pl.col(c).cast(pl.String) for c in columns))
        long = long.unpivot(index="user_id", variable_name="task", value_name="label")
    long = long.select(pl.all().cast(pl.String)).drop_nulls()
    return validate(long, "labels", source=source)


def interactions_from_events(events: pl.DataFrame, items: pl.DataFrame | None) -> pl.DataFrame:
    """The events that name an item, as ``INTERACTION_SCHEMA`` rows.

    Args:
        events: the events.
        items: ``item_id, item_text`` (None: an item's text is its first event's text).
    """
    rows = events.filter(pl.col("item_id").is_not_null()).sort(EVENT_ORDER)
    if items is None:
        items = rows.group_by("item_id", maintain_order=True).agg(item_text=pl.col("text").first())
    items = items.select(pl.col("item_id").cast(pl.String), pl.col("item_text").cast(pl.String))
    joined = rows.join(items.unique("item_id"), on="item_id", how="left", maintain_order="left")
    return validate(
        joined.select("user_id", "item_id", "item_text", "timestamp", "seq"), "interactions"
    )


def _sample(events: pl.DataFrame, n: int | None, seed: int) -> pl.DataFrame:
    users = events["user_id"].unique().sort()
    if n is None or n >= users.len():
        return events
    keep = np.random.default_rng(seed).choice(users.len(), size=n, replace=False)
    return events.filter(pl.col("user_id").is_in(users.gather(np.sort(keep)).implode()))


def load_tables(
    events: Path,
    labels: Path | None,
    items: Path | None,
    *,
    tasks: tuple[str, ...] | None = None,
    sample_users: int | None = None,
    seed: int = 0,
) -> PipelineTables:
    """Read the ingested tables (a seeded user sample when asked).

    Raises:
        InputFileError: a table is missing or unreadable.
        ConfigError: a task that the labels do not hold.
    """
    ev = _sample(read_table(events, "events"), sample_users, seed).sort(EVENT_ORDER)
    if ev.is_empty():
        raise InputFileError(f"{events}: no events")
    label_rows, chosen = None, []
    if labels is not None:
        label_rows = long_labels(read_user_table(labels), source=str(labels))
        label_rows = label_rows.join(ev.select("user_id").unique(), on="user_id", how="semi")
        present = label_rows["task"].unique(maintain_order=True).to_list()
        chosen = list(tasks) if tasks is not None else present
        unknown = [t for t in chosen if t not in present]
        if unknown:
            raise ConfigError(f"tasks {unknown} are not in {labels}; its labels are {present}")
    item_table = None
    if items is not None:
        item_table = read_user_table(items, text_columns=("item_id", "item_text"))
    return PipelineTables(ev, label_rows, chosen, interactions_from_events(ev, item_table))
