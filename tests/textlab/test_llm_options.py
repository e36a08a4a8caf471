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


def test_auto_picks_the_model_for_the_task_language_and_the_runtime_where_it_pays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from byod.textlab.llm import options, packaged

    auto = LLMOptions()
    assert (auto.spec, auto.backend) == ("auto", "auto")
    assert auto.resolved("en") == ("smollm2", "transformers")
    monkeypatch.setattr(packaged, "is_installed", lambda name: False)
    assert auto.resolved("ko") == ("qwen2.5-0.5b", "transformers")
    monkeypatch.setattr(packaged, "is_installed", lambda name: name == "qwen2.5-1.5b")
    monkeypatch.setattr(options.importlib.util, "find_spec", lambda name: object())
    assert auto.resolved("ko") == ("qwen2.5-1.5b", "llama-cpp")
    assert LLMOptions(backend="transformers").resolved("ko") == ("qwen2.5-1.5b", "transformers")
    monkeypatch.setattr(options.importlib.util, "find_spec", lambda name: None)
    assert auto.resolved("ko") == ("qwen2.5-1.5b", "transformers")  # llama.cpp not installed
    assert LLMOptions("smollm2", "llama-cpp").resolved("ko") == ("smollm2", "llama-cpp")


def test_is_installed_sees_a_missing_part() -> None:
    from byod.textlab.llm.packaged import is_installed

    assert is_installed("smollm2")  # make install ships it
    assert isinstance(is_installed("qwen2.5-1.5b"), bool)  # optional: make llm
