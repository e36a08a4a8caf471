"""Which LLM to open and how: one value object for every command and bench that needs an LLM."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from byod.textlab.errors import TextlabError
from byod.textlab.llm.base import LLM

__all__ = ["LLMOptions", "NO_LLM"]

NO_LLM = "none"


@dataclasses.dataclass(frozen=True)
class LLMOptions:
    """The LLM choice (``byod text ... --llm --backend --llm-model --api-key-env --threads``).

    Attributes:
        spec: packaged name (``smollm2``, ``qwen2.5-0.5b``), ``.gguf`` file, transformers folder,
            ``http(s)://`` endpoint, or ``none``.
        backend: ``transformers`` or ``llama-cpp``.
        model: the model id at an HTTP endpoint.
        api_key: the endpoint's key (the CLI reads it from the named environment variable).
        threads: CPU threads for every step (``None``: :mod:`byod.textlab.threads` decides).
    """

    spec: str = "smollm2"
    backend: str = "transformers"
    model: str | None = None
    api_key: str | None = None
    threads: int | None = None

    @property
    def enabled(self) -> bool:
        """False for ``--llm none``."""
        return self.spec != NO_LLM

    def open(self, llm_dir: str | Path, *, required: bool = False) -> LLM | None:
        """The LLM, or ``None`` for ``none`` (an error when ``required``)."""
        from byod.textlab.llm import open_llm
        from byod.textlab.threads import step_threads

        if not self.enabled:
            if required:
                raise TextlabError("--llm none: this command needs an LLM (e.g. --llm smollm2)")
            return None
        return open_llm(
            self.spec,
            llm_dir=llm_dir,
            backend=self.backend,
            model=self.model,
            api_key=self.api_key,
            threads=step_threads("llm", self.threads),
        )
