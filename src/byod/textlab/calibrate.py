"""Label probabilities read from an LLM, and their contextual calibration (Zhao et al., 2021).

Few-shot prompts are biased towards the majority label among the examples, the most recent one
and common tokens. Contextual calibration measures that bias directly: the label distribution
the same prompt gives to content-free inputs (``"N/A"``, ``""``, ``"[MASK]"``), averaged into
``p_cf``; calibrated probabilities are ``diag(p_cf)^-1 · p``, renormalised.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from byod.textlab.errors import ShapeError
from byod.textlab.jsonl_cache import JsonlCache, item_key
from byod.textlab.llm.base import LLM, ScoringUnsupported, label_distribution
from byod.textlab.prompts import TaskSpec

__all__ = [
    "label_log_probs",
    "content_free_prior",
    "calibrate",
    "require_scoring",
    "fit_temperature",
    "apply_temperature",
]


def require_scoring(llm: LLM) -> None:
    """Raise :class:`ScoringUnsupported` with advice when ``llm`` cannot give soft labels."""
    if not llm.can_score:
        raise ScoringUnsupported(
            f"LLM {llm.name!r} cannot score label strings, so it cannot give soft labels; use a "
            "local model (a packaged name, a .gguf file or a transformers folder) or a server "
            "with echo + logprobs (vLLM, llama.cpp server)"
        )


def label_log_probs(
    llm: LLM,
    task: TaskSpec,
    examples: Sequence[tuple[str, str]],
    text: str,
    *,
    cache: JsonlCache | None = None,
) -> np.ndarray:
    """Summed log-probability of each label word after ``text`` in a k-shot prompt.

    Returns:
        ``(n_labels,)`` float64, in ``task.labels`` order. Cached by model, prompt and text.
    """
    context = task.label_context(examples, text)
    key = item_key("label", llm.fingerprint, context, task.continuations())
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        return np.asarray(hit["log_probs"], dtype=np.float64)
    lp = np.asarray(llm.score(context, task.continuations()), dtype=np.float64)
    if cache is not None:
        cache.put({"key": key, "op": "label", "text": text, "log_probs": lp.tolist()})
    return lp


def content_free_prior(
    llm: LLM,
    task: TaskSpec,
    examples: Sequence[tuple[str, str]] = (),
    *,
    cache: JsonlCache | None = None,
) -> np.ndarray:
    """``p_cf``: mean label distribution over the template's content-free inputs.

    Returns:
        ``(n_labels,)`` float64, sums to 1.
    """
    dists = [
        label_distribution(label_log_probs(llm, task, examples, cf, cache=cache))
        for cf in task.template.content_free
    ]
    prior = np.mean(dists, axis=0)
    return prior / prior.sum()


def calibrate(probs: np.ndarray, prior: np.ndarray, *, floor: float = 1e-6) -> np.ndarray:
    """Divide out the content-free prior and renormalise.

    Args:
        probs: ``(..., n_labels)`` label distributions.
        prior: ``(n_labels,)`` the content-free distribution under the same prompt.
        floor: lower bound on the prior (a label the prompt never produces would divide by 0).

    Returns:
        ``(..., n_labels)`` calibrated distributions (rows sum to 1).
    """
    probs = np.asarray(probs, dtype=np.float64)
    prior = np.asarray(prior, dtype=np.float64)
    if prior.shape != probs.shape[-1:]:
        raise ShapeError(f"prior shape {prior.shape} does not match probs {probs.shape}")
    w = probs / np.maximum(prior, floor)
    return w / w.sum(axis=-1, keepdims=True)


def fit_temperature(
    probs: np.ndarray, labels: np.ndarray, *, grid: np.ndarray | None = None
) -> float:
    """Temperature that makes ``probs`` best match known ``labels`` (max likelihood on a grid).

    A teacher LLM is rarely calibrated for a new task: on a few labelled examples, a temperature
    above 1 flattens an over-confident or weak teacher (towards uniform when it is no better than
    chance), below 1 sharpens a good but timid one.

    Args:
        probs: ``(n, n_labels)`` the teacher's distributions for the labelled texts.
        labels: ``(n,)`` true label indices.
        grid: candidate temperatures (default: 0.25 ... 64, log-spaced).

    Returns:
        The temperature ``T``; apply as ``softmax(log(probs) / T)``.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    grid = np.geomspace(0.25, 64, 25) if grid is None else np.asarray(grid, dtype=float)
    logp = np.log(np.clip(probs, 1e-12, 1.0))
    best, best_nll = 1.0, np.inf
    for t in grid:
        q = label_distribution(logp / t)
        nll = -np.log(np.clip(q[np.arange(len(labels)), labels], 1e-12, 1.0)).mean()
        if nll < best_nll - 1e-12:
            best, best_nll = float(t), nll
    return best


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(probs) / T)`` row-wise; ``(n, n_labels)`` in, same shape out."""
    return label_distribution(np.log(np.clip(np.asarray(probs, float), 1e-12, 1.0)) / temperature)
