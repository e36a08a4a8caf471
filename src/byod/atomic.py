"""Atomic file writes: readers never see a half-written file.

Every writer goes through :func:`atomic_path`: write to a temporary sibling, then ``os.replace``
(atomic on POSIX when both paths are on the same filesystem, which a sibling guarantees).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["atomic_path", "write_json", "write_parquet", "write_csv", "write_text"]


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file owner-only; give it the usual umask-based mode before it lands.
        umask = os.umask(0)
        os.umask(umask)
        if tmp_path.exists():
            tmp_path.chmod(0o666 & ~umask)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_parquet(df: pl.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to Parquet atomically (zstd level 1: most of the size gain, little cost)."""
    with atomic_path(path) as tmp:
        df.write_parquet(tmp, compression="zstd", compression_level=1, statistics=True)
    return Path(path)


def write_csv(df: pl.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to CSV atomically; return the path."""
    with atomic_path(path) as tmp:
        df.write_csv(tmp)
    return Path(path)


def write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented UTF-8 JSON atomically; return the path."""
    return write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", path)


def write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` as UTF-8 atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
