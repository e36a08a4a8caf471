"""Which LLM to open and how: one value object for every command and bench that needs an LLM."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

from byod.textlab.errors import TextlabError
from byod.textlab.llm.base import LLM

__all__ = ["AUTO", "LLMOptions", "NO_LLM"]

NO_LLM = "none"
AUTO = "auto"
# Where llama.cpp pays (docs/benchmarks.md, "LLM runtimes"): x1.66 texts/s and a sixth of the
# memory on the 1.5B; on the small models transformers is as fast.
LLAMA_CPP_FIRST = frozenset({"qwen2.5-1.5b"})


@dataclasses.dataclass(frozen=True)
class LLMOptions:
    """The LLM choice (``byod text ... --llm --backend --llm-model --api-key-env --threads``).

    Attributes:
        spec: packaged name (``smollm2``, ``qwen2.5-0.5b``, ``qwen2.5-1.5b``), ``.gguf`` file,
            transformers folder, ``http(s)://`` endpoint, ``none``, or ``auto`` (the packaged
            model for the task's language: :func:`~byod.textlab.llm.packaged.default_llm`).
        backend: ``transformers``, ``llama-cpp``, or ``auto`` (llama.cpp for the models where it
            pays, when ``llama-cpp-python`` is installed; else transformers).
        model: the model id at an HTTP endpoint.
        api_key: the endpoint's key (the CLI reads it from the named environment variable).
        threads: CPU threads for every step (``None``: :mod:`byod.textlab.threads` decides).
    """

    spec: str = AUTO
    backend: str = AUTO
    model: str | None = None
    api_key: str | None = None
    threads: int | None = None

    @property
    def enabled(self) -> bool:
        """False for ``--llm none``."""
        return self.spec != NO_LLM

    def resolved(self, language: str = "en") -> tuple[str, str]:
        """``(spec, backend)`` with ``auto`` replaced for a task in ``language``."""
        from byod.textlab.llm.packaged import default_llm

        spec = default_llm(language) if self.spec == AUTO else self.spec
        backend = self.backend
        if backend == AUTO:
            fast = spec in LLAMA_CPP_FIRST and importlib.util.find_spec("llama_cpp") is not None
            backend = "llama-cpp" if fast else "transformers"
        return spec, backend

    def open(
        self, llm_dir: str | Path, *, required: bool = False, language: str = "en"
    ) -> LLM | None:
        """The LLM, or ``None`` for ``none`` (an error when ``required``).

        ``language`` is the task's prompt language, which ``auto`` picks the model by.
        """
        from byod.textlab.llm import open_llm
        from byod.textlab.threads import step_threads

        if not self.enabled:
            if required:
                raise TextlabError("--llm none: this command needs an LLM (e.g. --llm smollm2)")
            return None
        spec, backend = self.resolved(language)
        return open_llm(
            spec,
            llm_dir=llm_dir,
            backend=backend,
            model=self.model,
            api_key=self.api_key,
            threads=step_threads("llm", self.threads),
        )
