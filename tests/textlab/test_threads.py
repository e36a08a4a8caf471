"""Threads per step: the LLM gets fewer than the cores, ``--threads`` sets every step."""

from __future__ import annotations

import pytest
import torch

from byod.textlab.threads import default_threads, step_threads, torch_threads


def test_default_thread_counts_per_step() -> None:
    assert [default_threads("llm", c) for c in (1, 2, 4, 16, 64)] == [1, 1, 2, 8, 8]
    assert default_threads("encoder", 2) == 2 and default_threads("head", 16) == 1
    assert step_threads("llm", 3) == 3
    with pytest.raises(ValueError, match="unknown step"):
        default_threads("gpu")
    with pytest.raises(ValueError, match=">= 1"):
        step_threads("llm", 0)


def test_the_llm_runs_with_its_own_thread_count_and_restores_torch(tiny_lm) -> None:
    seen: list[int] = []
    forward = tiny_lm.model.forward

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(torch.get_num_threads())
        return forward(*args, **kwargs)

    before = torch.get_num_threads()
    tiny_lm.model.forward, tiny_lm.threads = spy, 1
    try:
        tiny_lm._ctx_cache, tiny_lm._ctx_ids = None, []
        tiny_lm.score("movie review : great", [" positive )"])
        tiny_lm.generate(["movie review :"], max_new_tokens=2, temperature=0.0)
    finally:
        tiny_lm.model.forward, tiny_lm.threads = forward, None
    assert seen and set(seen) == {1} and torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def test_open_llm_passes_threads(tmp_path, tiny_lm) -> None:
    from byod.textlab.llm import open_llm

    folder = tmp_path / "lm"
    tiny_lm.model.save_pretrained(folder)
    tiny_lm.tokenizer.save_pretrained(folder)
    assert open_llm(str(folder), llm_dir=tmp_path / "c", threads=1).threads == 1
