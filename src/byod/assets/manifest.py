"""``byod_manifest.json``: what an installed model folder was built from, and its checksums.

The manifest records the backbone name, the source packages and their versions, the sha256 of the
source weight file, the size and sha256 of every file written, and when it was built. It lets a
re-install skip work (the folder still matches) and keys embedding caches (the fingerprint).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST", "sha256_file", "file_table", "write_manifest", "read_manifest", "verify"]

MANIFEST = "byod_manifest.json"


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_table(folder: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"size", "sha256"}}`` for every file in ``folder`` but the manifest."""
    return {
        path.relative_to(folder).as_posix(): {
            "size": path.stat().st_size,
            "sha256": sha256_file(path),
        }
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def write_manifest(folder: Path, **fields: Any) -> dict[str, Any]:
    """Hash every file in ``folder`` and write the manifest with ``fields``; return it."""
    manifest = {**fields, "files": file_table(folder), "created_at": datetime.now(UTC).isoformat()}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or ``None`` when it has none (or an unreadable one)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("files") else None


def verify(folder: str | Path, *, full: bool = True) -> bool:
    """True when every file in the manifest exists with its recorded size (and sha256, if ``full``).

    Files added to the folder after installation are ignored. A full check reads every byte
    (about 0.5 GB for e5-small: a second or so).
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        return False
    for rel, entry in manifest["files"].items():
        path = folder / rel
        if not path.is_file() or path.stat().st_size != entry["size"]:
            return False
        if full and sha256_file(path) != entry["sha256"]:
            return False
    return True
