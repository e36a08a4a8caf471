"""The packaged labelled text sets load with the documented shapes (real package files)."""

from __future__ import annotations

import pytest

from byod.labels.datasets import korean_topics, news_sources, rotten_tomatoes
from byod.textlab.prompts import load_task


@pytest.mark.slow
def test_text_sets_have_the_documented_sizes() -> None:
    rt = rotten_tomatoes()
    assert set(rt["label"]) == {"fresh", "rotten"} and rt.height > 12_000
    news = news_sources()
    assert news["label"].n_unique() == 9


@pytest.mark.slow
def test_korean_topics_are_korean_and_every_topic_has_a_korean_word() -> None:
    df = korean_topics()
    assert df.height == 454 and df["label"].n_unique() == 19
    assert df["text"].str.contains(r"[가-힣]").mean() > 0.95  # Hangul
    big = korean_topics(min_rows=30)
    assert set(big["label"]) == {"psychology", "emotion", "literature", "ai", "money"}
    task = load_task("korean-topics", labels=sorted(set(df["label"])))
    assert all(any("가" <= ch <= "힣" for ch in w) for w in task.words)
    assert task.word("emotion") == "감정"
