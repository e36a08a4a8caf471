"""Prompt templates and tasks as data: rendering, parsing written items, errors."""

from __future__ import annotations

import pytest

from byod.errors import ConfigError
from byod.textlab.prompts import load_task, load_template


def test_gpt3mix_prompt_renders_as_in_the_paper(rt_task) -> None:
    prompt = rt_task.generation_prompt([("great fun", "fresh"), ("so dull\nand long", "rotten")])
    assert prompt == (
        "Each item in the following list contains a movie review and the respective sentiment. "
        "Sentiment is one of 'positive' or 'negative'."
        "\nMovie review: great fun (Sentiment: positive)"
        "\nMovie review: so dull and long (Sentiment: negative)"
        "\nMovie review:"
    )
    assert rt_task.label_context([], "wow").endswith("\nMovie review: wow (Sentiment:")
    assert rt_task.continuations() == [" positive)\n", " negative)\n"]


def test_parse_item_maps_words_back_to_labels(rt_task) -> None:
    assert rt_task.parse_item(" a joy (Sentiment: Positive)") == ("a joy", "fresh")
    assert rt_task.parse_item(" a bore (sentiment: 'negative'") == ("a bore", "rotten")
    assert rt_task.parse_item(" meh (Sentiment: mixed)") == ("meh", None)
    assert rt_task.parse_item(" no label at all") == ("no label at all", None)


def test_korean_template_and_multi_token_words() -> None:
    task = load_task("korean-sentiment", labels=["positive", "negative"])
    assert task.header().startswith("다음 목록의 각 항목은 영화 리뷰와")
    assert "'긍정' 또는 '부정'" in task.header()
    assert task.continuations() == [" 긍정)\n", " 부정)\n"]
    assert task.parse_item(" 정말 재미있다 (감정: 긍정)") == ("정말 재미있다", "positive")


def test_labels_without_words_use_their_values() -> None:
    task = load_task("korean-topics", labels=["감정", "음식"])
    assert task.words == ("감정", "음식")


def test_bad_tasks_and_templates_are_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match="unknown task 'nope'"):
        load_task("nope")
    with pytest.raises(ConfigError, match="prompt template 'gpt3mix-xx' not found"):
        load_template("gpt3mix-xx")
    bad = tmp_path / "t.yaml"
    bad.write_text("name: x\nlanguage: en\nheader: h\n")
    with pytest.raises(ConfigError, match="missing keys"):
        load_template(bad)
    with pytest.raises(ConfigError, match="one word per label|>= 2 labels"):
        load_task("rotten-tomatoes", labels=["fresh"])
    task_file = tmp_path / "task.yaml"
    task_file.write_text("text_type: tweet\nlabel_type: topic\ncolour: red\n")
    with pytest.raises(ConfigError, match="unknown keys \\['colour'\\]"):
        load_task(task_file, labels=["a", "b"])
