"""One LLM choice for every command: ``none`` where allowed, one-line errors otherwise."""

from __future__ import annotations

import pytest

from byod.errors import ByodError
from byod.textlab.llm import LLMOptions


def test_none_opens_nothing_unless_an_llm_is_required(tmp_path) -> None:
    options = LLMOptions("none")
    assert not options.enabled and options.open(tmp_path) is None
    with pytest.raises(ByodError, match="this command needs an LLM"):
        options.open(tmp_path, required=True)


def test_a_bad_choice_is_a_user_error(tmp_path) -> None:
    with pytest.raises(ByodError, match="neither a packaged model"):
        LLMOptions("gpt-17").open(tmp_path)
    with pytest.raises(ByodError, match="unknown LLM backend"):
        LLMOptions("smollm2", backend="vllm").open(tmp_path)
    with pytest.raises(ByodError, match="--llm-model"):
        LLMOptions("http://127.0.0.1:9/v1").open(tmp_path)
