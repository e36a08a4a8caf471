"""The feature table: user -> vector, versioned, with metadata and a FAISS index.

Layout (every file written atomically; a version folder is built aside and renamed into place)::

    FEATURES_DIR/
      LATEST                    name of the newest version, e.g. "v0002"
      v0001/
        features.parquet        user_id: string, vector: array<float32, dim>, and one
                                array<float32, k> column per extra block (zero-shot, svd, ...)
        metadata.json           model id + hash, objective, dim, created_at, source hash, rows,
                                blocks: [{name, column, offset, dim, scaling, columns}, ...]
        index.faiss             IndexFlatIP over the normalised ``vector``s, row i = features row i
        blocks.npz              the blocks' fitted transforms (whitening, SVD, services), so
                                new users can be put in the same space (no pickles)

The blocks' offsets index the concatenation of their columns in the order listed;
:meth:`FeatureTable.matrix` returns that concatenation (or the blocks a user picks).
      v0002/ ...
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from byod.atomic import write_json, write_parquet, write_text
from byod.errors import ByodError
from byod.features.blocks import BlockLayout
from byod.features.index import build_index, read_index, write_index

__all__ = ["FeatureTable", "write_feature_table", "read_feature_table", "frame_hash"]

_LATEST = "LATEST"
_BLOCK_STATE = "blocks.npz"


@dataclasses.dataclass
class FeatureTable:
    """One version of a feature table.

    Attributes:
        features: ``user_id, vector`` rows.
        metadata: what produced it.
        path: the version folder.
    """

    features: pl.DataFrame
    metadata: dict[str, Any]
    path: Path

    @property
    def vectors(self) -> np.ndarray:
        """``(n_users, dim)`` float32."""
        return np.asarray(self.features["vector"].to_numpy(), dtype=np.float32)

    @property
    def user_ids(self) -> list[str]:
        """User ids in row order."""
        return self.features["user_id"].to_list()

    @property
    def layout(self) -> BlockLayout:
        """The blocks of this version (tables written before blocks: the one ``learned``)."""
        entries = self.metadata.get("blocks")
        if entries:
            return BlockLayout.from_json(entries)
        return BlockLayout.build([("learned", "vector", int(self.metadata["dim"]), ())])

    def matrix(self, blocks: list[str] | None = None) -> tuple[np.ndarray, BlockLayout]:
        """Concatenated blocks ``(n_users, layout.dim)`` float32 and their layout.

        Args:
            blocks: block names in the order wanted (default: every block of the table).
        """
        layout = self.layout if blocks is None else self.layout.select(blocks)
        parts = [
            np.asarray(self.features[b.column].to_numpy(), dtype=np.float32).reshape(-1, b.dim)
            for b in layout.blocks
        ]
        return np.concatenate(parts, axis=1), layout

    def block_state(self) -> dict[str, np.ndarray]:
        """The fitted block transforms of this version (empty when it has none)."""
        path = self.path / _BLOCK_STATE
        if not path.exists():
            return {}
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def index(self):  # noqa: ANN201 (faiss.Index)
        """The FAISS index of this version."""
        return read_index(self.path / "index.faiss")


def frame_hash(df: pl.DataFrame) -> str:
    """sha256 (first 16 hex) of a table's Arrow IPC bytes: order-sensitive, for provenance.

    Polars' own ``hash_rows`` is not stable across releases, so it would not do for metadata.
    """
    buf = io.BytesIO()
    df.write_ipc(buf, compression="uncompressed")
    return hashlib.sha256(buf.getvalue()).hexdigest()[:16]


def _next_version(root: Path) -> str:
    existing = [int(p.name[1:]) for p in root.glob("v[0-9][0-9][0-9][0-9]") if p.is_dir()]
    return f"v{max(existing, default=0) + 1:04d}"


def _with_blocks(
    features: pl.DataFrame, blocks: dict[str, tuple[np.ndarray, tuple[str, ...]]] | None
) -> tuple[pl.DataFrame, BlockLayout]:
    """``features`` plus one array column per extra block, and the layout of them all."""
    dim = features.schema["vector"].shape[0]
    parts = [("learned", "vector", dim, ())]
    columns = []
    for name, (values, names) in (blocks or {}).items():
        if name == "learned" or name in features.columns:
            raise ByodError(f"block name {name!r} clashes with a feature-table column")
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 2 or values.shape[0] != features.height:
            raise ByodError(
                f"block {name!r} has shape {values.shape}; expected ({features.height}, k)"
            )
        parts.append((name, name, values.shape[1], tuple(names)))
        columns.append(pl.Series(name, values, dtype=pl.Array(pl.Float32, values.shape[1])))
    return features.with_columns(columns), BlockLayout.build(parts)


def write_feature_table(
    features: pl.DataFrame,
    root: str | Path,
    metadata: dict[str, Any],
    blocks: dict[str, tuple[np.ndarray, tuple[str, ...]]] | None = None,
    block_state: dict[str, np.ndarray] | None = None,
) -> FeatureTable:
    """Write ``features`` (``user_id``, ``vector``) as a new version under ``root``.

    Args:
        features: one row per user.
        root: the feature-table folder.
        metadata: what produced it (merged into metadata.json).
        blocks: extra blocks ``name -> ((n_users, k) values in features' row order, column
            names or ())``, written as columns and listed in metadata.json after ``learned``.
        block_state: the blocks' fitted transforms (``compute_blocks(state=...)``), kept in
            ``blocks.npz`` for embedding new users into the same space.
    """
    root = Path(root)
    if features["user_id"].is_duplicated().any():
        raise ByodError("feature table has duplicate user_id values")
    features, layout = _with_blocks(features, blocks)
    root.mkdir(parents=True, exist_ok=True)
    version = _next_version(root)
    dim = features.schema["vector"].shape[0]
    meta = {
        **metadata,
        "version": version,
        "dim": dim,
        "rows": features.height,
        "blocks": [b.to_json() for b in layout.blocks],
        "created_at": datetime.now(UTC).isoformat(),
    }
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=root))
    try:
        write_parquet(features, staging / "features.parquet")
        write_index(
            build_index(np.asarray(features["vector"].to_numpy(), dtype=np.float32)),
            staging / "index.faiss",
        )
        write_json(meta, staging / "metadata.json")
        if block_state:
            np.savez(staging / _BLOCK_STATE, **block_state)  # inside the staging folder
        os.replace(staging, root / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_text(version + "\n", root / _LATEST)
    return FeatureTable(features, meta, root / version)


def read_feature_table(root: str | Path, version: str | None = None) -> FeatureTable:
    """Read a version (default: the latest) of the feature table under ``root``."""
    root = Path(root)
    if version is None:
        latest = root / _LATEST
        if not latest.exists():
            raise ByodError(f"{root}: not a feature table (no {_LATEST}); run `byod embed` first")
        version = latest.read_text(encoding="utf-8").strip()
    path = root / version
    if not (path / "features.parquet").exists():
        raise ByodError(f"{path}: feature table version not found")
    meta = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    return FeatureTable(pl.read_parquet(path / "features.parquet", glob=False), meta, path)
