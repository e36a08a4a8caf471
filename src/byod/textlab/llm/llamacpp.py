"""An :class:`~byod.textlab.llm.base.LLM` over a local GGUF model through ``llama-cpp-python``.

The CPU backend for generation and soft labels when no GPU (and no server) is around: it scores
continuations exactly (token log-probabilities from the model's logits), evaluating the shared
context once and reusing its KV cache for every continuation.

Limits:
    * ``llama-cpp-python`` is an optional extra, imported when a model is opened; it compiles from
      source on install (minutes), so build a wheel once and reuse it.
    * Context and continuations are tokenized separately (the continuation without BOS), so the
      score is that of the token sequence ``tokens(context) + tokens(continuation)``, which may
      differ from how the tokenizer would split the joined text.
    * Context plus the longest continuation must fit in ``n_ctx`` tokens.
    * The model object is not thread-safe: use one :class:`LlamaCppLM` per thread.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from byod.errors import ByodError

__all__ = ["LlamaCppLM", "file_fingerprint"]

_INSTALL_HINT = (
    "pip install llama-cpp-python (compiles from source, ~8 minutes on 2 cores; build once with "
    "pip wheel llama-cpp-python -w wheelhouse/)"
)
_CHUNK = 1 << 20  # bytes hashed from each end of the model file


def file_fingerprint(path: str | Path) -> str:
    """16 hex digits of sha256 over a file's size and its first and last MiB.

    Cheap on multi-GB model files, yet changes with any re-quantisation or different weights
    (they change the header / tensor data at both ends, and almost always the size).
    """
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        digest.update(f.read(_CHUNK))
        f.seek(max(0, size - _CHUNK))
        digest.update(f.read(_CHUNK))
    return digest.hexdigest()[:16]


class LlamaCppLM:
    """A GGUF model run in-process by llama.cpp.

    Args:
        model_path: the ``.gguf`` file.
        n_ctx: context window in tokens (context + continuation / prompt + generation).
        n_threads: CPU threads; ``None`` lets llama.cpp choose.
        name: display name; defaults to the file name without extension.
        fingerprint: cache key of the weights; defaults to :func:`file_fingerprint`.

    Raises:
        ByodError: ``llama-cpp-python`` is not installed, or the file does not exist.
    """

    can_score = True

    def __init__(
        self,
        model_path: str | Path,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        name: str | None = None,
        fingerprint: str | None = None,
    ) -> None:
        llama_cpp = _import_llama_cpp()
        path = Path(model_path)
        if not path.is_file():
            raise ByodError(
                f"model_path {str(path)!r} is not a file; give the path of a .gguf model"
            )
        self.name = name or path.stem
        self.fingerprint = fingerprint or file_fingerprint(path)
        self._n_ctx = n_ctx
        # logits_all keeps one row of logits per evaluated position, which scoring reads.
        self._llm = llama_cpp.Llama(
            model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, logits_all=True, verbose=False
        )
        self.tokens_evaluated = 0  # context + continuation tokens run through the model

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` (no BOS) in this model's vocabulary: throughput in tokens/s."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def __repr__(self) -> str:
        return f"LlamaCppLM(name={self.name!r}, fingerprint={self.fingerprint!r})"

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 64,
        temperature: float = 0.8,
        stop: str | None = "\n",
        seed: int = 0,
    ) -> list[str]:
        """One completion per prompt, cut before ``stop`` (``stop``, ``seed`` go to llama.cpp)."""
        texts = []
        for prompt in prompts:
            result = self._llm.create_completion(
                prompt,
                max_tokens=max_new_tokens,
                temperature=temperature,
                stop=[stop] if stop else None,
                seed=seed,
            )
            text = str(result["choices"][0]["text"])
            texts.append(text.split(stop, 1)[0] if stop else text)
        return texts

    def score(self, context: str, continuations: Sequence[str]) -> np.ndarray:
        """Summed log-probability of each continuation's tokens after ``context``.

        The context is evaluated once, and only past the prefix it shares with the previous call
        (a few-shot header); each continuation rolls the model back to the end of the context
        (reusing its KV cache) and evaluates only its own tokens.

        Args:
            context: the shared prefix (BOS is prepended when the model has one).
            continuations: texts scored each as if appended to ``context`` alone.

        Returns:
            ``(len(continuations),)`` float64 log-probabilities.
        """
        llm = self._llm
        ctx_tokens = llm.tokenize(context.encode("utf-8"), add_bos=True)
        if not ctx_tokens:
            raise ByodError(
                f"context {context!r} has no tokens (and {self.name} adds no BOS); give a "
                f"non-empty context"
            )
        cont_tokens = [
            llm.tokenize(c.encode("utf-8"), add_bos=False, special=False) for c in continuations
        ]
        self._check_fits(len(ctx_tokens), max((len(t) for t in cont_tokens), default=0))
        # Few-shot prompts share a long header: keep the KV cache of the common prefix with what
        # the model holds now and evaluate only the rest (the last token always, for its logits).
        keep = self._reusable_prefix(ctx_tokens)
        llm.n_tokens = keep
        llm.eval(ctx_tokens[keep:])
        n = len(ctx_tokens)
        self.tokens_evaluated += n - keep + sum(len(t) for t in cont_tokens)
        out = np.zeros(len(continuations), dtype=np.float64)
        for i, tokens in enumerate(cont_tokens):
            if tokens:
                out[i] = self._score_after_context(n, tokens)
        return out

    def _reusable_prefix(self, tokens: list[int]) -> int:
        """How many leading ``tokens`` the model's KV cache already holds (at most all but one)."""
        held = np.asarray(self._llm.input_ids[: self._llm.n_tokens])
        n = min(len(held), len(tokens))
        same = held[:n] == np.asarray(tokens[:n], dtype=held.dtype)
        common = n if same.all() else int(np.argmin(same))
        return min(common, len(tokens) - 1)

    def _score_after_context(self, n_ctx_tokens: int, tokens: list[int]) -> float:
        llm = self._llm
        llm.n_tokens = n_ctx_tokens  # roll back to the context; eval drops the stale KV entries
        llm.eval(tokens)
        # Row p holds the logits predicting token p + 1, so the first continuation token is
        # predicted by the row of the last context token.
        rows = np.asarray(llm.scores[n_ctx_tokens - 1 : n_ctx_tokens - 1 + len(tokens)])
        return float(_log_softmax(rows)[np.arange(len(tokens)), tokens].sum())

    def _check_fits(self, n_context: int, n_longest: int) -> None:
        if self._n_ctx > 0 and n_context + n_longest > self._n_ctx:
            raise ByodError(
                f"context ({n_context} tokens) plus the longest continuation ({n_longest}) exceed "
                f"n_ctx={self._n_ctx}; shorten the prompt or raise n_ctx"
            )


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (logits arrive as float32)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _import_llama_cpp() -> Any:
    try:
        return importlib.import_module("llama_cpp")
    except ImportError as err:
        raise ByodError(
            f"the llama.cpp backend needs the optional package llama-cpp-python: {_INSTALL_HINT}"
        ) from err
