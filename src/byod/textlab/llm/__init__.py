"""LLM backends behind one interface (:class:`LLM`), and :func:`open_llm` to pick one by name."""

from __future__ import annotations

from pathlib import Path

from byod.errors import ByodError
from byod.textlab.llm.base import LLM, ScoringUnsupported, label_distribution
from byod.textlab.llm.options import NO_LLM, LLMOptions
from byod.textlab.llm.packaged import PACKAGED_LLMS, gguf_file

__all__ = [
    "LLM",
    "LLMOptions",
    "NO_LLM",
    "ScoringUnsupported",
    "label_distribution",
    "open_llm",
    "PACKAGED_LLMS",
]

BACKENDS = ("transformers", "llama-cpp")


def open_llm(
    spec: str,
    *,
    llm_dir: str | Path,
    backend: str = "transformers",
    model: str | None = None,
    api_key: str | None = None,
    threads: int | None = None,
) -> LLM:
    """Open an LLM.

    Args:
        spec: a packaged name (``smollm2``, ``qwen2.5-0.5b``), a ``.gguf`` file, a transformers
            folder, or an OpenAI-compatible endpoint (``http://host:8000/v1``).
        llm_dir: where joined GGUF files and converted folders live.
        backend: ``transformers`` (default; converts GGUF once to safetensors) or ``llama-cpp``
            (the optional ``llama-cpp-python`` extra; much faster generation on CPU).
        model: the model id at an HTTP endpoint.
        api_key: the endpoint's key (the CLI reads it from an environment variable).
        threads: CPU threads of a local model (``None``: the runtime's default; see
            :mod:`byod.textlab.threads`).
    """
    if backend not in BACKENDS:
        raise ByodError(f"unknown LLM backend {backend!r}; choose one of {BACKENDS}")
    if spec.startswith(("http://", "https://")):
        from byod.textlab.llm.openai_http import OpenAICompatLM

        if not model:
            raise ByodError(f"endpoint {spec}: give the model id to use (--llm-model)")
        return OpenAICompatLM(spec, model, api_key=api_key)
    llm_dir = Path(llm_dir)
    if spec in PACKAGED_LLMS:
        path = gguf_file(spec, llm_dir)
    else:
        path = Path(spec)
        if not path.exists():
            raise ByodError(
                f"LLM {spec!r} is neither a packaged model {sorted(PACKAGED_LLMS)}, an existing "
                "file / folder, nor an http(s):// endpoint"
            )
    if backend == "llama-cpp":
        from byod.textlab.llm.llamacpp import LlamaCppLM

        if path.is_dir():
            raise ByodError(f"{path}: the llama-cpp backend needs a .gguf file, not a folder")
        return LlamaCppLM(path, name=spec, n_threads=threads)
    from byod.textlab.llm.hf import TransformersLM

    if path.is_dir():
        return TransformersLM.from_folder(path, threads=threads)
    return TransformersLM.from_gguf(path, llm_dir, name=spec, threads=threads)
