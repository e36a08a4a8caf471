"""Tiny in-memory language models and a scripted fake LLM for the textlab tests."""

from __future__ import annotations

import pytest

from byod.textlab.prompts import load_task

WORDS = [
    "each",
    "item",
    "in",
    "the",
    "following",
    "list",
    "contains",
    "a",
    "movie",
    "review",
    "and",
    "respective",
    "sentiment",
    "is",
    "one",
    "of",
    "positive",
    "negative",
    "or",
    "great",
    "fun",
    "dull",
    "boring",
    "film",
    "plot",
    "acting",
    "story",
    "good",
    "bad",
    "N/A",
    "MASK",
]


@pytest.fixture(scope="session")
def tiny_lm():
    """A 2-layer Llama over a word-level vocabulary, random weights, built offline."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from byod.textlab.llm.hf import TransformersLM

    vocab = {
        w: i
        for i, w in enumerate(
            ["<pad>", "<s>", "</s>", "<unk>", *WORDS, "(", ")", ":", "'", ",", ".", "[", "]"]
        )
    }
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    return TransformersLM(LlamaForCausalLM(config), fast, name="tiny", fingerprint="tiny-0")


@pytest.fixture()
def rt_task():
    return load_task("rotten-tomatoes", labels=["fresh", "rotten"])
