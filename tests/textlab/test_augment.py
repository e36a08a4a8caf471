"""Augmentation and generation: soft labels, retries, drops that add up, resumable cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
from textlab_fakes import FakeLLM, keyword_scorer

from byod.textlab.augment import GenerationConfig, augment, generate
from byod.textlab.jsonl_cache import JsonlCache

TEXTS = ["great fun film", "dull boring plot", "good acting", "bad story"]
LABELS = ["fresh", "rotten", "fresh", "rotten"]


def test_augment_writes_soft_labelled_examples(rt_task) -> None:
    writer = lambda p, i: f" a great fun story number {i} (Sentiment: positive)"  # noqa: E731
    llm = FakeLLM(writer, keyword_scorer)
    frame, stats = augment(llm, rt_task, TEXTS, LABELS, n=5, seed=1, progress=False)
    assert frame.height == 5 and stats.kept == 5 and stats.requested == 5
    probs = frame.select("prob_fresh", "prob_rotten").to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (frame["label"] == "fresh").all() and (frame["lm_label"] == "fresh").all()
    assert frame["text"][0].startswith("a great fun story")
    # Every prompt shows k=2 real examples in the GPT3Mix list format.
    assert all(p.count("\nMovie review:") == 3 for p in llm.generate_calls[0])


def test_labels_are_scored_within_the_set_so_requested_equals_kept(rt_task) -> None:
    # Items whose prompt shows "dull boring plot" write an unknown label (or none at all): the
    # label is scored over the label set instead of parsed, so nothing is dropped or retried.
    def writer(prompt: str, i: int) -> str:
        if "dull boring plot" in prompt:
            return f" dull and boring {i} (Sentiment: meh)" if i % 2 else f" dull, boring {i}"
        return f" a good film {i} (Sentiment: negative)"  # a written label is not trusted either

    llm = FakeLLM(writer, keyword_scorer)
    cfg = GenerationConfig(max_retries=2, batch_size=4)
    frame, stats = augment(llm, rt_task, TEXTS, LABELS, n=12, config=cfg, seed=0, progress=False)
    first_tries = [p for call in llm.generate_calls for p in call]
    n_bad = sum("dull boring plot" in p for p in first_tries)
    assert 0 < n_bad < 12 and stats.attempts == 12 and stats.dropped == {}
    assert stats.requested == stats.kept == frame.height == 12
    by_text = dict(zip(frame["text"], frame["lm_label"], strict=True))
    assert {y for t, y in by_text.items() if t.startswith("dull")} == {"rotten"}
    assert {y for t, y in by_text.items() if t.startswith("a good film")} == {"fresh"}
    assert not any("Sentiment" in t for t in frame["text"])  # the written label is cut off


def test_a_real_lm_keeps_every_requested_item_but_real_failures(rt_task, tiny_lm) -> None:
    cfg = GenerationConfig(max_new_tokens=12, batch_size=4, max_retries=1)
    frame, stats = augment(tiny_lm, rt_task, TEXTS, LABELS, n=8, config=cfg, seed=0,
                           progress=False)  # fmt: skip
    assert "label outside the set" not in stats.dropped
    assert set(stats.dropped) <= {"empty or too short", "copy of a prompt example"}
    assert stats.kept == frame.height == 8 - sum(stats.dropped.values())
    assert set(frame["lm_label"]) <= set(rt_task.labels) and frame.height > 0


def test_empty_texts_and_copies_of_examples_are_invalid(rt_task) -> None:
    llm = FakeLLM(
        lambda p, i: " (Sentiment: positive)" if i % 2 else " great fun film (Sentiment: positive)",
        keyword_scorer,
    )
    frame, stats = augment(
        llm,
        rt_task,
        TEXTS[:1] * 2,
        LABELS[:1] * 2,
        n=3,
        config=GenerationConfig(max_retries=0),
        progress=False,
    )
    assert frame.height == 0
    assert sum(stats.dropped.values()) == 3
    assert set(stats.dropped) <= {"empty or too short", "copy of a prompt example"}


def test_interrupted_augmentation_resumes_without_repeating_finished_items(
    rt_task, tmp_path
) -> None:
    path = tmp_path / "aug.jsonl"
    writer = lambda p, i: f" a great fun story {i} (Sentiment: positive)"  # noqa: E731
    cfg = GenerationConfig(batch_size=2)
    first = FakeLLM(writer, keyword_scorer, fail_on_call=2)  # dies during the second chunk
    with pytest.raises(KeyboardInterrupt):
        augment(
            first, rt_task, TEXTS, LABELS, n=6, config=cfg, cache=JsonlCache(path), progress=False
        )
    done = [json.loads(line) for line in path.read_text().splitlines() if '"status"' in line]
    assert len(done) == 2
    second = FakeLLM(writer, keyword_scorer)
    frame, stats = augment(
        second, rt_task, TEXTS, LABELS, n=6, config=cfg, cache=JsonlCache(path), progress=False
    )
    assert stats.from_cache == 2 and frame.height == 6
    assert sum(len(c) for c in second.generate_calls) == 4  # only the unfinished items
    assert {d["key"] for d in done} <= {r["key"] for r in JsonlCache(path).values()}


def test_torn_last_line_is_dropped_and_truncated(tmp_path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"key": "a", "v": 1}\n{"key": "b", "v"')
    cache = JsonlCache(path)
    assert len(cache) == 1 and cache.get("a")["v"] == 1
    assert path.read_text() == '{"key": "a", "v": 1}\n'
    cache.put({"key": "c", "v": 3})
    assert len(JsonlCache(path)) == 2


def test_generate_from_label_names_alone(rt_task) -> None:
    def writer(prompt: str, i: int) -> str:
        return (
            f" a great fun film {i}"
            if "(Sentiment: positive)" in prompt
            else f" a dull boring plot {i}"
        )

    llm = FakeLLM(writer, keyword_scorer)
    frame, stats = generate(llm, rt_task, n_per_label=3, progress=False)
    assert stats.kept == 6
    assert frame["lm_label"].to_list() == ["fresh"] * 3 + ["rotten"] * 3
    assert frame["label"].to_list() == frame["lm_label"].to_list()  # the soft labels agree here


def test_paraphrases_line_up_with_texts_and_fall_back_when_unusable(rt_task, tmp_path) -> None:
    from byod.textlab.augment import paraphrase

    def writer(prompt: str, i: int) -> str:
        text = prompt.split("\nMovie review: ", 1)[1].split("\n", 1)[0]
        return text if "same" in text else f" in other words: {text}"

    llm = FakeLLM(writer, keyword_scorer)
    texts = ["a great fun film", "the same old story", "dull"]
    out, fallbacks = paraphrase(
        llm, rt_task, texts, cache=JsonlCache(tmp_path / "p.jsonl"), progress=False
    )
    assert out[0] == "in other words: a great fun film" and out[1] == texts[1] and fallbacks == 1
    again, _ = paraphrase(
        llm, rt_task, texts, cache=JsonlCache(tmp_path / "p.jsonl"), progress=False
    )
    assert again == out and len(llm.generate_calls) == 1  # cached
