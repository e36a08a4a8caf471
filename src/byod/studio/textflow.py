"""The text playground's glue over :mod:`byod.textlab` (no logic of its own beyond forms).

A person names the labels and gives a few examples per label; the studio turns that into the
library's :class:`~byod.textlab.prompts.TaskSpec` (the label names are the label words), shows
the prompt :meth:`TaskSpec.label_context` builds and the LLM's calibrated soft labels
(:func:`byod.textlab.pseudolabel.pseudolabel`, the same call as ``byod text pseudolabel``), and
trains with :func:`byod.textlab.fit_hypermatch` as ``byod text train`` does.

``TaskSpec`` is built here directly from the form (``load_task`` reads only a packaged name or a
YAML file): a thin adapter, no textlab change.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from byod.errors import ByodError

__all__ = [
    "TextDraft",
    "TEMPLATES",
    "LLM_CHOICES",
    "parse_labels",
    "draft_from_form",
    "task_of",
    "shown_examples",
    "held_out_split",
    "LLMPool",
    "try_sentence",
    "MAX_SHOTS",
]

TEMPLATES = ("gpt3mix-ko", "gpt3mix-en")
LLM_CHOICES = ("smollm2", "qwen2.5-0.5b", "qwen2.5-1.5b")
MAX_SHOTS = 8  # examples in the playground prompt (a long prompt is slow to score on CPU)


@dataclasses.dataclass
class TextDraft:
    """What the text page's form holds.

    Attributes:
        labels: the label names (also the words the LLM reads), in order.
        examples: label -> example texts, one per pasted line.
        text_type: what a text is called in the prompt (``영화 리뷰``).
        label_type: what a label is called (``감정``).
        template: a packaged prompt template (``gpt3mix-ko`` / ``gpt3mix-en``).
    """

    labels: list[str]
    examples: dict[str, list[str]]
    text_type: str = "영화 리뷰"
    label_type: str = "감정"
    template: str = "gpt3mix-ko"

    def pairs(self) -> tuple[list[str], list[str]]:
        """``(texts, labels)`` of every example, label by label."""
        texts = [t for y in self.labels for t in self.examples.get(y, [])]
        labels = [y for y in self.labels for _ in self.examples.get(y, [])]
        return texts, labels


def parse_labels(raw: str) -> list[str]:
    """``"긍정, 부정"`` -> ``["긍정", "부정"]`` (commas or new lines; blanks, repeats dropped)."""
    names = [p.strip() for p in raw.replace("\n", ",").split(",")]
    return list(dict.fromkeys(n for n in names if n))


def draft_from_form(form: Mapping[str, str]) -> TextDraft:
    """The draft in a submitted form (``labels``, ``examples-<label>`` text areas, task words)."""
    labels = parse_labels(form.get("labels", ""))
    examples = {
        y: [ln.strip() for ln in form.get(f"examples-{y}", "").splitlines() if ln.strip()]
        for y in labels
    }
    template = form.get("template") or "gpt3mix-ko"
    if template not in TEMPLATES:
        raise ByodError(f"prompt template must be one of {TEMPLATES}, got {template!r}")
    return TextDraft(
        labels=labels,
        examples=examples,
        text_type=form.get("text_type", "").strip() or "text",
        label_type=form.get("label_type", "").strip() or "label",
        template=template,
    )


def task_of(draft: TextDraft):  # noqa: ANN201 (byod.textlab.prompts.TaskSpec, imported late)
    """The textlab task of a draft: the label names are the label words."""
    from byod.textlab.prompts import TaskSpec, load_template

    if len(draft.labels) < 2:
        raise ByodError("name at least two labels, separated by commas (e.g. 긍정, 부정)")
    return TaskSpec(
        template=load_template(draft.template),
        text_type=draft.text_type,
        label_type=draft.label_type,
        labels=tuple(draft.labels),
        words=tuple(draft.labels),
    )


def shown_examples(draft: TextDraft, shots: int = MAX_SHOTS) -> list[tuple[str, str]]:
    """The examples the playground prompt shows: ``byod text pseudolabel --examples``'s pick."""
    from byod.textlab.hypermatch import few_shot_examples

    texts, labels = draft.pairs()
    return few_shot_examples(texts, labels, shots, np.random.default_rng(0))


def held_out_split(
    labels: Sequence[str], share: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Train / held-out row indices: ``share`` of each label held out (at least one, one kept).

    Raises:
        ByodError: a label has fewer than two examples (nothing would be left to train or test).
    """
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    train: list[int] = []
    test: list[int] = []
    for label in dict.fromkeys(labels):
        rows = np.flatnonzero(y == label)
        if len(rows) < 2:
            raise ByodError(
                f"label {label!r} has {len(rows)} example(s); give at least 2 per label "
                "(one is held out to measure accuracy)"
            )
        rows = rng.permutation(rows)
        k = min(max(1, round(share * len(rows))), len(rows) - 1)
        test += rows[:k].tolist()
        train += rows[k:].tolist()
    return np.asarray(sorted(train)), np.asarray(sorted(test))


class LLMPool:
    """The playground's LLM, opened once and kept (one at a time: each holds its weights)."""

    def __init__(self, llm_dir: Path) -> None:
        self.llm_dir = Path(llm_dir)
        self._lock = threading.Lock()
        self._name: str | None = None
        self._llm: Any = None

    def get(self, name: str) -> Any:
        """The LLM ``name`` (a packaged name, a .gguf file or a transformers folder)."""
        from byod.textlab.llm.options import LLMOptions

        with self._lock:
            if self._name != name:
                self._llm = None  # free the old weights before loading new ones
                self._llm = LLMOptions(name).open(self.llm_dir, required=True)
                self._name = name
            return self._llm


def try_sentence(
    llm: Any, draft: TextDraft, sentence: str, *, calibrated: bool = True
) -> dict[str, Any]:
    """The prompt byod builds for ``sentence`` and the LLM's soft labels.

    Returns:
        ``prompt`` (the context), ``continuations`` (one scored string per label), ``probs``
        (label -> probability, summing to 1), ``label`` (the likeliest) and ``shots``.
    """
    from byod.textlab.pseudolabel import prob_columns, pseudolabel

    sentence = " ".join(sentence.split())
    if not sentence:
        raise ByodError("type a test sentence")
    task = task_of(draft)
    shown = shown_examples(draft)
    frame = pseudolabel(llm, task, [sentence], examples=shown, calibrated=calibrated,
                        progress=False)  # fmt: skip
    row = frame.row(0, named=True)
    probs = {y: float(row[c]) for y, c in zip(task.labels, prob_columns(task), strict=True)}
    return {
        "prompt": task.label_context(shown, sentence),
        "continuations": task.continuations(),
        "probs": probs,
        "label": row["label"],
        "shots": len(shown),
        "calibrated": calibrated,
        "llm": llm.name,
    }
