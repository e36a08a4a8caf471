"""Everything the studio keeps, in one work folder: mapped sources, jobs, keys, the service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from byod.atomic import write_json
from byod.studio.jobs import JobStore
from byod.studio.service import KeyStore, ServiceSlot
from byod.studio.settings import StudioSettings
from byod.studio.textflow import LLMPool

__all__ = ["Workspace"]


class Workspace:
    """The studio's state under ``settings.work_dir`` (it survives page reloads and restarts)."""

    def __init__(self, settings: StudioSettings) -> None:
        self.settings = settings
        root = Path(settings.work_dir)
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.jobs = JobStore(
            root / "jobs", env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        )
        self.keys = KeyStore(root)
        self.service = ServiceSlot(self.keys, root / "served.json", settings.models_dir)
        self._state_file = root / "studio.json"
        self.llms = LLMPool(settings.llm_dir)  # the text playground's LLM, kept between tries

    @property
    def data_dir(self) -> Path:
        """Where the mapping YAML, events, rejects and summary are written."""
        return self.root / "data"

    def _state(self) -> dict[str, Any]:
        if self._state_file.exists():
            return json.loads(self._state_file.read_text(encoding="utf-8"))
        return {"sources": []}

    def _save(self, state: dict[str, Any]) -> None:
        write_json(state, self._state_file)

    @property
    def sources(self) -> list[dict[str, Any]]:
        """The mapped sources (``sources:`` entries of the ingest YAML)."""
        return self._state().get("sources", [])

    def put_source(self, source: dict[str, Any]) -> None:
        """Add a source, or replace the one reading the same file."""
        state = self._state()
        kept = [s for s in state.get("sources", []) if s["path"] != source["path"]]
        state["sources"] = [*kept, source]
        self._save(state)

    def remove_source(self, path: str) -> None:
        """Forget the source reading ``path``."""
        state = self._state()
        state["sources"] = [s for s in state.get("sources", []) if s["path"] != path]
        self._save(state)

    @property
    def text_draft(self) -> dict[str, Any] | None:
        """The text page's last labels and examples (so a reload keeps what was typed)."""
        return self._state().get("text_draft")

    def put_text_draft(self, draft: dict[str, Any]) -> None:
        """Remember the text page's labels and examples."""
        state = self._state()
        state["text_draft"] = draft
        self._save(state)

    @property
    def events(self) -> Path | None:
        """The validated events table, once the mapping was validated."""
        path = self.data_dir / "events.parquet"
        return path if path.exists() else None
