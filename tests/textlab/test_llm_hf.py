"""The transformers backend on a tiny in-memory Llama: exact scores, prefix reuse, generation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from byod.textlab.llm.base import label_distribution


def brute_force(lm, context: str, continuation: str) -> float:
    a = lm.tokenizer(context)["input_ids"]
    b = lm.tokenizer(continuation, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(lm.model(torch.tensor([a + b])).logits.double(), -1)[0]
    return float(sum(logp[len(a) - 1 + i, t] for i, t in enumerate(b)))


CTX = "each item in the following list contains a movie review ( sentiment : positive )\nmovie review : great fun ( sentiment :"


def test_scores_match_a_full_forward_pass(tiny_lm) -> None:
    conts = [" positive )", " negative )", " good story acting )"]
    got = tiny_lm.score(CTX, conts)
    want = [brute_force(tiny_lm, CTX, c) for c in conts]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_shared_context_is_evaluated_once(tiny_lm) -> None:
    tiny_lm.score(CTX, [" positive )"])
    before = tiny_lm.tokens_evaluated
    other = CTX.replace("great fun", "dull boring film")
    got = tiny_lm.score(other, [" positive )", " negative )"])
    n_ctx = len(tiny_lm.tokenizer(other)["input_ids"])
    # Only the tokens after the common prefix (+ the re-run last token) and 2 + 2 label tokens.
    assert tiny_lm.tokens_evaluated - before < n_ctx // 2 + 4
    np.testing.assert_allclose(
        got, [brute_force(tiny_lm, other, c) for c in (" positive )", " negative )")], atol=1e-5
    )
    # The same context again costs one token (re-run for its logits) plus the labels.
    before = tiny_lm.tokens_evaluated
    tiny_lm.score(other, [" positive )"])
    assert tiny_lm.tokens_evaluated - before == 1 + 2


def test_soft_labels_sum_to_one_and_match_hand_computation(tiny_lm) -> None:
    p = label_distribution(tiny_lm.score(CTX, [" positive )", " negative )"]))
    assert p.sum() == pytest.approx(1.0)
    # Hand-computed: log-probs log 0.2 and log 0.6 renormalise to 0.25 / 0.75.
    np.testing.assert_allclose(label_distribution(np.log([0.2, 0.6])), [0.25, 0.75])
    np.testing.assert_allclose(
        label_distribution(np.array([[0.0, 0.0, np.log(2)]])), [[0.25, 0.25, 0.5]]
    )
    with pytest.raises(ValueError, match="finite"):
        label_distribution(np.array([0.0, -np.inf]))


def test_generation_is_seeded_and_cut_at_stop(tiny_lm) -> None:
    prompts = ["movie review : great", "movie review : dull boring"]
    a = tiny_lm.generate(prompts, max_new_tokens=6, temperature=1.0, seed=3)
    b = tiny_lm.generate(prompts, max_new_tokens=6, temperature=1.0, seed=3)
    assert a == b and len(a) == 2
    assert all("\n" not in t for t in a)
    greedy = tiny_lm.generate(prompts[:1], max_new_tokens=4, temperature=0)
    assert isinstance(greedy[0], str)


def test_scoring_and_generation_use_the_current_cache_api_without_warnings(tiny_lm) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "`past_key_values` is deprecated" (issue 18)
        tiny_lm._ctx_cache, tiny_lm._ctx_ids = None, []
        tiny_lm.score(CTX, [" positive )", " negative )"])
        tiny_lm.score(CTX.replace("great fun", "dull"), [" positive )"])  # reuses the prefix
        tiny_lm.generate(["movie review :"], max_new_tokens=3, temperature=0.0)
