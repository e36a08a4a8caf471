"""A scripted fake LLM for the textlab tests (no model, deterministic)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


class FakeLLM:
    """A scripted LLM: ``writer(prompt, call_no) -> str`` and ``scorer(context, conts) -> logprobs``."""

    name = "fake"
    fingerprint = "fake-1"
    can_score = True

    def __init__(
        self,
        writer: Callable[[str, int], str],
        scorer: Callable[[str, Sequence[str]], np.ndarray],
        fail_on_call: int | None = None,
    ) -> None:
        self.writer, self.scorer, self.fail_on_call = writer, scorer, fail_on_call
        self.generate_calls: list[list[str]] = []
        self.score_calls = 0

    def generate(self, prompts, *, max_new_tokens=64, temperature=0.8, stop="\n", seed=0):  # noqa: ANN001, ANN201
        if self.fail_on_call is not None and len(self.generate_calls) + 1 == self.fail_on_call:
            raise KeyboardInterrupt("simulated interruption")
        self.generate_calls.append(list(prompts))
        n = sum(len(c) for c in self.generate_calls)
        return [self.writer(p, n - len(prompts) + i) for i, p in enumerate(prompts)]

    def score(self, context, continuations):  # noqa: ANN001, ANN201
        self.score_calls += 1
        return np.asarray(self.scorer(context, continuations), dtype=float)


def keyword_scorer(context: str, continuations: Sequence[str]) -> np.ndarray:
    """Positive words in the last item push 'positive', others 'negative' (log-probs)."""
    last = context.rsplit("\n", 1)[-1].lower()
    good = sum(w in last for w in ("great", "fun", "good"))
    bad = sum(w in last for w in ("dull", "boring", "bad"))
    lp = {
        " positive)\n": np.log(0.5 + 0.1 * (good - bad) + 1e-9),
        " negative)\n": np.log(0.5 - 0.1 * (good - bad) + 1e-9),
    }
    return np.asarray([lp[c] for c in continuations])
