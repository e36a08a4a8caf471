"""An append-only JSON Lines cache: every finished LLM item is one line, so a run resumes.

Each record carries a ``key`` (a hash of everything that determines the item: operation, model
fingerprint, prompt, seed). On open, complete lines are loaded; a torn last line (the process was
killed mid-write) is dropped and the file is truncated to its last complete line, so the next
append starts clean. Records are flushed one by one: an interruption loses at most the item in
flight. JSON only (never pickle): the cache may come from another machine.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["JsonlCache", "item_key"]


def item_key(*parts: object) -> str:
    """A stable 24-hex key for the JSON-serialisable ``parts``."""
    raw = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


class JsonlCache:
    """Records by key, backed by ``path`` (created on the first write).

    Args:
        path: the ``.jsonl`` file; ``None`` keeps everything in memory (tests, one-off calls).
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._records: dict[str, dict[str, Any]] = {}
        if self.path is not None and self.path.exists():
            self._load(self.path)

    def _load(self, path: Path) -> None:
        raw = path.read_bytes()
        good_end = 0
        for line in raw.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break  # torn write: everything after the last newline is incomplete
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                break
            self._records[record["key"]] = record
            good_end += len(line)
        if good_end < len(raw):
            with path.open("r+b") as fh:
                fh.truncate(good_end)

    def __contains__(self, key: str) -> bool:
        return key in self._records

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: str) -> dict[str, Any] | None:
        """The record stored under ``key``, if any."""
        return self._records.get(key)

    def values(self) -> Iterator[dict[str, Any]]:
        """Records in insertion order."""
        return iter(self._records.values())

    def put(self, record: dict[str, Any]) -> None:
        """Store ``record`` (it must have a ``key``) and append it to the file, flushed."""
        if "key" not in record:
            raise ValueError("a cache record needs a 'key'")
        self._records[record["key"]] = record
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
