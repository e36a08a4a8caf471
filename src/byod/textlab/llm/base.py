"""The small interface every LLM backend implements: generate texts, score continuations.

Soft labels need the log-probability of each *full* label string after a context (Korean label
words span several tokens, so the first token's probability is wrong), so scoring is part of the
contract. A backend that cannot score (a hosted API without echo / prompt log-probs) says so with
``can_score = False`` and raises :class:`ScoringUnsupported` from :meth:`LLM.score`; callers that
need soft labels check first and tell the user which backend would work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from byod.errors import ByodError

__all__ = ["LLM", "ScoringUnsupported", "label_distribution"]


class ScoringUnsupported(ByodError):
    """The backend cannot return log-probabilities of given continuations."""


@runtime_checkable
class LLM(Protocol):
    """A causal language model behind one of byod's backends.

    Attributes:
        name: display name (``qwen2.5-0.5b``, a folder path, an endpoint's model id).
        fingerprint: changes whenever the weights (or the endpoint's model) change; JSONL caches
            key their entries by it, so a different model never reuses another's outputs.
        can_score: whether :meth:`score` works (soft labels, calibration, pseudo-labels).
    """

    name: str
    fingerprint: str
    can_score: bool

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 64,
        temperature: float = 0.8,
        stop: str | None = "\n",
        seed: int = 0,
    ) -> list[str]:
        """One sampled continuation per prompt (greedy when ``temperature == 0``).

        The text stops before ``stop`` (not included); the prompt is not repeated.
        """
        ...

    def score(self, context: str, continuations: Sequence[str]) -> np.ndarray:
        """``(len(continuations),)`` float64: summed log-probability of each continuation's tokens.

        Each continuation is scored as if appended to ``context`` alone (the continuations do not
        see each other). Backends evaluate the shared ``context`` once.
        """
        ...


def label_distribution(log_probs: np.ndarray) -> np.ndarray:
    """Softmax over label log-probabilities, renormalised over the label set.

    Args:
        log_probs: ``(..., n_labels)`` summed log-probabilities of the full label strings.

    Returns:
        ``(..., n_labels)`` float64 probabilities that sum to 1 along the last axis.
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.shape[-1] < 1 or not np.all(np.isfinite(lp)):
        raise ValueError(f"label log-probabilities must be finite and non-empty; got {lp!r}")
    z = lp - lp.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)
