"""Parquet in row groups, users in hash partitions, part files merged: Ray Data's plumbing.

A Ray pipeline reads each input row group in its own task (:func:`row_groups`,
:func:`read_row_group`), tags every row with the hash partition of its user
(:func:`with_partition`), lets Ray shuffle the rows so each partition is one group, and every
group writes its own part file with byod's own writers. :func:`merge_parts` then streams the
parts, one row group at a time, into the single Parquet file the other commands read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from byod.atomic import atomic_path
from byod.errors import InputFileError

__all__ = [
    "PART",
    "RowGroup",
    "row_groups",
    "read_row_group",
    "with_partition",
    "n_partitions",
    "merge_parts",
    "file_sha256",
]

PART = "__part"  # the hash partition of a row's user
_SEED = 0x6279_6F64  # fixed: every worker must put a user in the same partition


@dataclasses.dataclass(frozen=True)
class RowGroup:
    """One row group of one Parquet file: what a read task gets.

    Attributes:
        path: the file (absolute).
        index: the row group's index in the file.
        first_row: number of rows before it in the file.
        rows: rows in it.
        source: index of the file among the inputs.
    """

    path: str
    index: int
    first_row: int
    rows: int
    source: int = 0


def row_groups(paths: list[Path]) -> list[RowGroup]:
    """The row groups of ``paths``, from the Parquet footers only (no data read)."""
    out = []
    for k, path in enumerate(paths):
        if not path.is_file():
            raise InputFileError(f"{path}: file not found")
        try:
            meta = pq.ParquetFile(path).metadata
        except Exception as exc:  # pyarrow raises several types for a non-Parquet file
            raise InputFileError(f"{path}: cannot be read as Parquet ({exc})") from exc
        first = 0
        for i in range(meta.num_row_groups):
            rows = meta.row_group(i).num_rows
            out.append(RowGroup(str(path.resolve()), i, first, rows, k))
            first += rows
    return out


def read_row_group(group: RowGroup) -> pl.DataFrame:
    """The rows of one row group, as Polars reads the whole file (same types)."""
    table = pq.ParquetFile(group.path).read_row_group(group.index)
    return pl.from_arrow(table)  # type: ignore[return-value]


def with_partition(frame: pl.DataFrame, n: int, column: str = "user_id") -> pl.DataFrame:
    """``frame`` with :data:`PART`: a stable hash of ``column`` modulo ``n`` (UInt32)."""
    return frame.with_columns((pl.col(column).hash(_SEED) % n).cast(pl.UInt32).alias(PART))


def n_partitions(rows: int, workers: int, rows_per_partition: int = 250_000) -> int:
    """Enough partitions to keep every worker busy and each partition small in memory."""
    return max(2 * workers, math.ceil(rows / rows_per_partition))


def merge_parts(parts: list[Path], out: Path) -> Path:
    """Stream part files (same schema) into one Parquet file at ``out``, atomically.

    The first part's schema, key-value metadata included, is the file's; one row group is in
    memory at a time.
    """
    parts = sorted(parts)
    if not parts:
        raise ValueError("merge_parts needs at least one part")
    schema = pq.read_schema(parts[0])
    with atomic_path(out) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for part in parts:
            f = pq.ParquetFile(part)
            for i in range(f.num_row_groups):
                writer.write_table(_conform(f.read_row_group(i), schema))
    return out


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    return table.replace_schema_metadata(schema.metadata).cast(schema)


def file_sha256(path: Path) -> str:
    """sha256 (first 16 hex) of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]
