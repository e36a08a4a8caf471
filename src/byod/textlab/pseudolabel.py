"""Soft labels for unlabelled texts, read from an LLM's label-word probabilities.

Every text goes into the same k-shot prompt (zero-shot when no examples are given), so the
example block is a shared prefix the backends evaluate once. Probabilities are calibrated with
the content-free prior of that prompt unless ``calibrated=False``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from byod.progress import track
from byod.textlab.calibrate import calibrate, content_free_prior, label_log_probs, require_scoring
from byod.textlab.jsonl_cache import JsonlCache
from byod.textlab.llm.base import LLM, label_distribution
from byod.textlab.prompts import TaskSpec

__all__ = ["pseudolabel", "soft_label_frame", "prob_columns"]


def prob_columns(task: TaskSpec) -> list[str]:
    """Column names of the soft label, one per label: ``prob_<label>``."""
    return [f"prob_{y}" for y in task.labels]


def soft_label_frame(texts: Sequence[str], probs: np.ndarray, task: TaskSpec) -> pl.DataFrame:
    """``text, label, confidence, prob_<label>...`` from ``(n, n_labels)`` probabilities."""
    probs = np.asarray(probs, dtype=np.float64).reshape(len(texts), len(task.labels))
    best = probs.argmax(axis=1) if len(texts) else np.zeros(0, dtype=int)
    cols = {c: probs[:, j] for j, c in enumerate(prob_columns(task))}
    return pl.DataFrame(
        {
            "text": list(texts),
            "label": [task.labels[j] for j in best],
            "confidence": probs.max(axis=1) if len(texts) else np.zeros(0),
            **cols,
        }
    )


def pseudolabel(
    llm: LLM,
    task: TaskSpec,
    texts: Sequence[str],
    *,
    examples: Sequence[tuple[str, str]] = (),
    calibrated: bool = True,
    cache: JsonlCache | None = None,
    progress: bool = True,
) -> pl.DataFrame:
    """Label ``texts`` with the LLM's (calibrated) label distribution.

    Args:
        llm: a backend that can score (see :func:`require_scoring`).
        task: label words and prompt format.
        texts: the unlabelled texts.
        examples: ``(text, label)`` pairs shown in the prompt (few-shot); empty = zero-shot.
        calibrated: divide out the content-free prior of the prompt.
        cache: finished texts are stored here and not scored again on a rerun.
        progress: show a progress bar.

    Returns:
        :func:`soft_label_frame` with one row per input text, in input order.
    """
    require_scoring(llm)
    prior = content_free_prior(llm, task, examples, cache=cache) if calibrated else None
    rows = []
    for text in track(texts, "pseudo-label (LLM scoring)", "text", enabled=progress):
        p = label_distribution(label_log_probs(llm, task, examples, text, cache=cache))
        rows.append(calibrate(p, prior) if prior is not None else p)
    probs = np.asarray(rows).reshape(len(texts), len(task.labels))
    return soft_label_frame(texts, probs, task)
