"""LLM data augmentation (GPT3Mix) and zero-data generation, with soft labels.

``augment``: each new item comes from a k-shot prompt of real examples (class-balanced: the
example classes are drawn uniformly, so rare classes get as many prompts as common ones); the LM
writes a text. Its label is **constrained to the label set**: whatever the LM writes after the
text's label marker is cut off, and the label position is filled by scoring every full label
string after the new text, under the same examples (``lm_label``: the most probable one; the
**soft label** is that distribution, calibrated). Parsing the free-text label instead dropped
25-75 % of the requested items as "label outside the set" with small LMs. An empty text or a copy
of a prompt example is retried with a new sample and dropped after ``max_retries``; every drop is
counted by reason, so requested = kept + dropped.

``generate``: the same loop from the label names alone: a prompt asks for a text of a given label.

Finished items (kept or dropped) are appended to a :class:`JsonlCache`; a rerun skips them.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence

import numpy as np
import polars as pl

from byod.progress import Progress
from byod.textlab.calibrate import calibrate, content_free_prior, label_log_probs, require_scoring
from byod.textlab.dedupe import fold_text
from byod.textlab.errors import LabelSetError
from byod.textlab.jsonl_cache import JsonlCache, item_key
from byod.textlab.llm.base import LLM, label_distribution
from byod.textlab.prompts import TaskSpec
from byod.textlab.pseudolabel import soft_label_frame

__all__ = ["GenerationConfig", "GenerationStats", "augment", "generate", "paraphrase"]

Examples = list[tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class GenerationConfig:
    """How items are sampled.

    Attributes:
        k: real examples per prompt (GPT3Mix default 2; ignored by ``generate``).
        max_retries: new samples for an invalid item before it is dropped.
        temperature: sampling temperature.
        max_new_tokens: length cap of one generated item.
        calibrated: calibrate soft labels with the prompt's content-free prior.
        min_chars: shorter generated texts are invalid.
        batch_size: prompts per generation call (also the unit of work an interruption loses).
    """

    k: int = 2
    max_retries: int = 2
    temperature: float = 0.9
    max_new_tokens: int = 64
    calibrated: bool = True
    min_chars: int = 8
    batch_size: int = 8


@dataclasses.dataclass
class GenerationStats:
    """Counts that add up: ``requested == kept + sum(dropped.values())``."""

    requested: int = 0
    kept: int = 0
    from_cache: int = 0
    attempts: int = 0
    dropped: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly summary."""
        return {**dataclasses.asdict(self), "dropped": dict(self.dropped)}


@dataclasses.dataclass
class _Item:
    index: int
    prompt: str
    examples: Examples
    target: str | None  # the label asked for (generate) or None (augment: the LM picks)
    key: str
    attempt: int = 0


def augment(
    llm: LLM,
    task: TaskSpec,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    n: int,
    config: GenerationConfig = GenerationConfig(),
    seed: int = 0,
    cache: JsonlCache | None = None,
    progress: bool = True,
) -> tuple[pl.DataFrame, GenerationStats]:
    """``n`` new examples with soft labels, from k-shot prompts of the labelled ``texts``.

    Returns:
        ``(frame, stats)``: frame columns ``text, label, confidence, prob_<label>..., lm_label,
        source`` (``lm_label``: the most probable label string after the text, before
        calibration); stats count drops by reason.
    """
    require_scoring(llm)
    pool = _by_label(texts, labels, task)
    items = []
    for i in range(n):
        examples = _balanced_examples(pool, config.k, np.random.default_rng([seed, i]))
        prompt = task.generation_prompt(examples)
        # "augment-2": labels are scored, not parsed; older cached drops must not come back.
        key = item_key("augment-2", llm.fingerprint, prompt, seed, i, config.temperature)
        items.append(_Item(i, prompt, examples, None, key))
    return _run(llm, task, items, config, seed, cache, progress, source="augment")


def generate(
    llm: LLM,
    task: TaskSpec,
    *,
    n_per_label: int,
    config: GenerationConfig = GenerationConfig(),
    seed: int = 0,
    cache: JsonlCache | None = None,
    progress: bool = True,
) -> tuple[pl.DataFrame, GenerationStats]:
    """``n_per_label`` texts per label from the label names alone (zero data), soft-labelled.

    Returns:
        As :func:`augment`; ``lm_label`` is the label the prompt asked for.
    """
    require_scoring(llm)
    items = []
    for j, label in enumerate(task.labels):
        prompt = task.conditional_prompt(label)
        for r in range(n_per_label):
            i = j * n_per_label + r
            key = item_key("generate", llm.fingerprint, prompt, seed, r, config.temperature)
            items.append(_Item(i, prompt, [], label, key))
    return _run(llm, task, items, config, seed, cache, progress, source="generate")


def _by_label(texts: Sequence[str], labels: Sequence[str], task: TaskSpec) -> dict[str, list[str]]:
    if len(texts) != len(labels):
        raise LabelSetError(f"{len(texts)} texts but {len(labels)} labels")
    unknown = sorted(set(labels) - set(task.labels))
    if unknown:
        raise LabelSetError(f"labels {unknown} are not in the task's label set {list(task.labels)}")
    pool: dict[str, list[str]] = collections.defaultdict(list)
    for t, y in zip(texts, labels, strict=True):
        pool[y].append(t)
    if not pool:
        raise LabelSetError("augment needs at least one labelled example")
    return dict(pool)


def _balanced_examples(pool: dict[str, list[str]], k: int, rng: np.random.Generator) -> Examples:
    """``k`` examples whose classes are drawn uniformly (then a random text of each)."""
    classes = sorted(pool)
    chosen = rng.choice(len(classes), size=k, replace=k > len(classes))
    examples = [(pool[classes[c]][rng.integers(len(pool[classes[c]]))], classes[c]) for c in chosen]
    # Without replacement inside a class where possible: duplicate lines teach the LM to copy.
    return list(dict.fromkeys(examples))


def _run(
    llm: LLM,
    task: TaskSpec,
    items: list[_Item],
    config: GenerationConfig,
    seed: int,
    cache: JsonlCache | None,
    progress: bool,
    *,
    source: str,
) -> tuple[pl.DataFrame, GenerationStats]:
    """Generate, validate, retry and soft-label ``items``; every finished item is cached."""
    cache = cache if cache is not None else JsonlCache(None)
    stats = GenerationStats(requested=len(items))
    records: dict[int, dict] = {}
    pending = []
    for item in items:
        hit = cache.get(item.key)
        if hit is None:
            pending.append(item)
        else:
            records[item.index] = hit
            stats.from_cache += 1
    bar = Progress(len(items), f"{source} (LLM generation)", "item", initial=stats.from_cache,
                   enabled=progress)  # fmt: skip
    queue = pending
    while queue:  # chunks: an interruption loses at most one chunk of generations
        chunk, queue = queue[: config.batch_size], queue[config.batch_size :]
        outs = llm.generate(
            [it.prompt for it in chunk],
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            stop="\n",
            seed=seed * 1_000_003 + chunk[0].index * 101 + chunk[0].attempt,
        )
        stats.attempts += len(chunk)
        for item, out in zip(chunk, outs, strict=True):
            text, lm_label, reason = _validate(task, item, out, config)
            if reason is not None and item.attempt < config.max_retries:
                item.attempt += 1
                queue.append(item)  # retried with a new sample (the seed moves with attempt)
                continue
            record = _finish(llm, task, item, text, lm_label, reason, config, cache)
            records[item.index] = record
            cache.put(record)
            bar.update(1)
    bar.close()
    return _frame(task, [records[i.index] for i in items], stats, source)


def _validate(
    task: TaskSpec, item: _Item, out: str, config: GenerationConfig
) -> tuple[str, str | None, str | None]:
    """``(text, label, reason)``; ``reason`` is None for a usable item.

    The text is what the LM wrote before its label marker; a label it wrote is cut off either
    way. ``label`` is the one the prompt asked for (generate) or ``None`` (augment: scored later).
    """
    text, _ = task.parse_item(out)
    label = item.target
    if len(text) < config.min_chars:
        return text, label, "empty or too short"
    if any(fold_text(text) == fold_text(t) for t, _ in item.examples):
        return text, label, "copy of a prompt example"
    return text, label, None


def _finish(
    llm: LLM,
    task: TaskSpec,
    item: _Item,
    text: str,
    lm_label: str | None,
    reason: str | None,
    config: GenerationConfig,
    cache: JsonlCache,
) -> dict:
    """The cache record of a finished item: kept (with its soft label) or dropped."""
    record = {"key": item.key, "index": item.index, "text": text, "attempts": item.attempt + 1}
    if reason is not None:
        return record | {"status": "dropped", "reason": reason}
    raw = label_distribution(label_log_probs(llm, task, item.examples, text, cache=cache))
    # The label position constrained to the set: the most probable full label string.
    lm_label = lm_label if lm_label is not None else task.labels[int(raw.argmax())]
    p = raw
    if config.calibrated:
        p = calibrate(raw, content_free_prior(llm, task, item.examples, cache=cache))
    return record | {"status": "kept", "probs": p.tolist(), "lm_label": lm_label}


def _frame(
    task: TaskSpec, records: list[dict], stats: GenerationStats, source: str
) -> tuple[pl.DataFrame, GenerationStats]:
    kept = [r for r in records if r["status"] == "kept"]
    for r in records:
        if r["status"] == "dropped":
            stats.dropped[r["reason"]] += 1
    stats.kept = len(kept)
    probs = np.asarray([r["probs"] for r in kept], dtype=np.float64).reshape(-1, len(task.labels))
    frame = soft_label_frame([r["text"] for r in kept], probs, task).with_columns(
        lm_label=pl.Series([r.get("lm_label") for r in kept], dtype=pl.String),
        source=pl.lit(source),
    )
    return frame, stats


def paraphrase(
    llm: LLM,
    task: TaskSpec,
    texts: Sequence[str],
    *,
    config: GenerationConfig = GenerationConfig(),
    seed: int = 0,
    cache: JsonlCache | None = None,
    progress: bool = True,
) -> tuple[list[str], int]:
    """One LLM paraphrase per text: strong views for consistency training.

    A paraphrase that comes back empty or unchanged is replaced by the text itself (counted), so
    the output always lines up with ``texts``.

    Returns:
        ``(paraphrases, n_fallbacks)``.
    """
    cache = cache if cache is not None else JsonlCache(None)
    keys = [item_key("paraphrase", llm.fingerprint, task.paraphrase_prompt(t), seed) for t in texts]
    todo = [i for i, k in enumerate(keys) if k not in cache]
    bar = Progress(len(texts), "paraphrase (LLM generation)", "text",
                   initial=len(texts) - len(todo), enabled=progress)  # fmt: skip
    for start in range(0, len(todo), config.batch_size):
        chunk = todo[start : start + config.batch_size]
        outs = llm.generate([task.paraphrase_prompt(texts[i]) for i in chunk],
                            max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                            stop="\n", seed=seed * 1_000_003 + chunk[0])  # fmt: skip
        for i, out in zip(chunk, outs, strict=True):
            cache.put({"key": keys[i], "op": "paraphrase", "text": out.strip()})
            bar.update(1)
    bar.close()
    result, fallbacks = [], 0
    for text, key in zip(texts, keys, strict=True):
        new = cache.get(key)["text"]
        usable = len(new) >= config.min_chars and fold_text(new) != fold_text(text)
        result.append(new if usable else text)
        fallbacks += not usable
    return result, fallbacks
