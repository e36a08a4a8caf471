"""The feature table: user -> vector, versioned, with metadata and a FAISS index.

Layout (every file written atomically; a version folder is built aside and renamed into place)::

    FEATURES_DIR/
      LATEST                    name of the newest version, e.g. "v0002"
      v0001/
        features.parquet        user_id: string, vector: array<float32, dim>
        metadata.json           model id + hash, objective, dim, created_at, source hash, rows
        index.faiss             IndexFlatIP over the normalised vectors, row i = features row i
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

from byod.errors import ByodError
from byod.features.index import build_index, read_index, write_index
from byod.io import write_json, write_parquet, write_text

__all__ = ["FeatureTable", "write_feature_table", "read_feature_table", "frame_hash"]

_LATEST = "LATEST"


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


def write_feature_table(
    features: pl.DataFrame, root: str | Path, metadata: dict[str, Any]
) -> FeatureTable:
    """Write ``features`` (``user_id``, ``vector``) as a new version under ``root``."""
    root = Path(root)
    if features["user_id"].is_duplicated().any():
        raise ByodError("feature table has duplicate user_id values")
    root.mkdir(parents=True, exist_ok=True)
    version = _next_version(root)
    dim = features.schema["vector"].shape[0]
    meta = {
        **metadata,
        "version": version,
        "dim": dim,
        "rows": features.height,
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
