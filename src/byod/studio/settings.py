"""Where the studio keeps its work and which backbone it builds with."""

from __future__ import annotations

import dataclasses
from pathlib import Path

__all__ = ["StudioSettings"]


@dataclasses.dataclass(frozen=True)
class StudioSettings:
    """How ``byod studio`` runs.

    Attributes:
        work_dir: every upload, mapping, job, model, table and deployment lives under it.
        backbone: default event-text backbone offered on the build page (a packaged name such
            as ``minilm`` or a sentence-transformers folder).
        models_dir: where packaged backbones are built (``$BYOD_HOME/models``).
        vector_cache_dir: the event-text vector cache (``$BYOD_HOME/text-vectors``).
        host: the interface the page is served on (loopback unless told otherwise).
        port: the port.
    """

    work_dir: Path
    backbone: str = "minilm"
    models_dir: Path | None = None
    vector_cache_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8090

    @property
    def llm_dir(self) -> Path:
        """Where packaged LLMs are joined and converted: ``$BYOD_HOME/llm`` beside the models."""
        if self.models_dir is not None:
            return Path(self.models_dir).parent / "llm"
        return Path(self.work_dir) / "llm"

    def path(self, *parts: str) -> Path:
        """A path under the work folder (its parent folders created)."""
        p = Path(self.work_dir, *parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p
