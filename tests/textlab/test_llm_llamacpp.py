"""LlamaCppLM against a fake ``llama_cpp`` module (the real one is an optional extra)."""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from byod.errors import ByodError
from byod.textlab.llm.base import LLM
from byod.textlab.llm.llamacpp import LlamaCppLM, file_fingerprint

VOCAB = 8
BOS = 0
TABLE = np.random.default_rng(0).normal(size=(VOCAB, VOCAB)).astype(np.float32)


def toy_tokenize(data: bytes, add_bos: bool) -> list[int]:
    return ([BOS] if add_bos else []) + [b % (VOCAB - 1) + 1 for b in data]


def toy_logits(prefix: Sequence[int]) -> np.ndarray:
    """Logits after ``prefix``: depend on the last token and on the whole prefix, so any stale
    state (a wrong roll-back) changes them."""
    return TABLE[prefix[-1]] + np.float32(0.05 * (sum(prefix) % 5))


def brute_force(context: str, continuation: str) -> float:
    ctx = toy_tokenize(context.encode(), add_bos=True)
    full = ctx + toy_tokenize(continuation.encode(), add_bos=False)
    total = 0.0
    for j in range(len(ctx), len(full)):
        z = toy_logits(full[:j]).astype(np.float64)
        total += z[full[j]] - np.log(np.exp(z).sum())
    return total


class FakeLlama:
    """The slice of ``llama_cpp.Llama`` byod uses, over a toy model."""

    instances: list[FakeLlama] = []

    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs
        n_ctx = int(kwargs["n_ctx"])  # type: ignore[arg-type]
        self.scores = np.full((n_ctx, VOCAB), np.nan, dtype=np.float32)
        self.input_ids = np.zeros(n_ctx, dtype=np.int64)
        self.n_tokens = 0
        self.evals: list[list[int]] = []
        self.completions: list[tuple[str, dict]] = []
        FakeLlama.instances.append(self)

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return toy_tokenize(text, add_bos)

    def reset(self) -> None:
        self.n_tokens = 0

    def eval(self, tokens: Sequence[int]) -> None:
        self.evals.append(list(tokens))
        for tok in tokens:
            self.input_ids[self.n_tokens] = tok
            self.scores[self.n_tokens] = toy_logits(self.input_ids[: self.n_tokens + 1].tolist())
            self.n_tokens += 1

    def create_completion(self, prompt: str, **kwargs: object) -> dict:
        self.completions.append((prompt, kwargs))
        return {"choices": [{"text": f"out {kwargs['seed']}\nmore", "index": 0}]}


@pytest.fixture
def fake_llama_cpp(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    fake = types.ModuleType("llama_cpp")
    fake.Llama = FakeLlama  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", fake)
    FakeLlama.instances.clear()
    return fake


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "toy-q4.gguf"
    path.write_bytes(b"GGUF" + bytes(range(256)) * 10)
    return path


def test_missing_package_names_install_command(
    monkeypatch: pytest.MonkeyPatch, model_file: Path
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes the import fail even if installed
    with pytest.raises(ByodError, match="pip install llama-cpp-python"):
        LlamaCppLM(model_file)


def test_opens_model_with_logits_for_all_positions(
    fake_llama_cpp: types.ModuleType, model_file: Path
) -> None:
    lm = LlamaCppLM(model_file, n_ctx=64, n_threads=2)
    (llama,) = FakeLlama.instances
    assert llama.kwargs == {
        "model_path": str(model_file),
        "n_ctx": 64,
        "n_threads": 2,
        "logits_all": True,
        "verbose": False,
    }
    assert lm.name == "toy-q4"
    assert lm.fingerprint == file_fingerprint(model_file)
    assert lm.can_score is True
    assert isinstance(lm, LLM)


def test_missing_model_file(fake_llama_cpp: types.ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ByodError, match="not a file"):
        LlamaCppLM(tmp_path / "nope.gguf")


def test_score_matches_brute_force_and_evaluates_context_once(
    fake_llama_cpp: types.ModuleType, model_file: Path
) -> None:
    lm = LlamaCppLM(model_file, n_ctx=64)
    (llama,) = FakeLlama.instances
    context, continuations = "Review: great. Label:", [" positive", " negative", " ok", ""]
    scores = lm.score(context, continuations)
    expected = [brute_force(context, c) for c in continuations]
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert scores.dtype == np.float64 and scores.shape == (4,)
    assert scores[-1] == 0.0
    ctx_tokens = toy_tokenize(context.encode(), add_bos=True)
    assert llama.evals[0] == ctx_tokens
    assert llama.evals[1:] == [toy_tokenize(c.encode(), add_bos=False) for c in continuations[:3]]
    assert sum(map(len, llama.evals)) == len(ctx_tokens) + sum(map(len, continuations))


def test_score_twice_resets_state(fake_llama_cpp: types.ModuleType, model_file: Path) -> None:
    lm = LlamaCppLM(model_file, n_ctx=64)
    lm.score("abc", [" xyz"])
    np.testing.assert_allclose(lm.score("de", [" f"]), [brute_force("de", " f")], rtol=1e-6)


def test_shared_prefix_is_evaluated_once(
    fake_llama_cpp: types.ModuleType, model_file: Path
) -> None:
    lm = LlamaCppLM(model_file, n_ctx=128)
    (llama,) = FakeLlama.instances
    header = "Review: great fun. Label: positive\nReview: "
    lm.score(header + "dull.", [" negative", " positive"])
    before = lm.tokens_evaluated
    other = header + "a warm film. Label:"
    got = lm.score(other, [" positive", " negative"])
    np.testing.assert_allclose(got, [brute_force(other, c) for c in (" positive", " negative")])
    n_header = len(toy_tokenize(header.encode(), add_bos=True))
    n_other = len(toy_tokenize(other.encode(), add_bos=True))
    assert llama.evals[-3] == toy_tokenize(other.encode(), add_bos=True)[n_header:]
    assert lm.tokens_evaluated - before == n_other - n_header + 2 * len(" positive")
    # The same context again: one token re-run (for its logits) plus the continuation.
    lm.score(other, [" ok"])
    assert llama.evals[-2:] == [
        toy_tokenize(other.encode(), add_bos=True)[-1:],
        [*toy_tokenize(b" ok", False)],
    ]


def test_score_longer_than_context_window(
    fake_llama_cpp: types.ModuleType, model_file: Path
) -> None:
    lm = LlamaCppLM(model_file, n_ctx=8)
    with pytest.raises(ByodError, match="n_ctx=8"):
        lm.score("abcdef", [" ghi"])


def test_generate_passes_options_and_cuts_at_stop(
    fake_llama_cpp: types.ModuleType, model_file: Path
) -> None:
    lm = LlamaCppLM(model_file, name="toy", fingerprint="f" * 16)
    assert (lm.name, lm.fingerprint) == ("toy", "f" * 16)
    assert lm.generate(["p1", "p2"], max_new_tokens=5, temperature=0.0, stop="\n", seed=7) == [
        "out 7",
        "out 7",
    ]
    (llama,) = FakeLlama.instances
    prompt, kwargs = llama.completions[0]
    assert prompt == "p1"
    assert kwargs == {"max_tokens": 5, "temperature": 0.0, "stop": ["\n"], "seed": 7}
    assert lm.generate(["p"], stop=None)[0] == "out 0\nmore"
    assert llama.completions[-1][1]["stop"] is None


def test_file_fingerprint_sees_both_ends(tmp_path: Path) -> None:
    big = bytearray(3 << 20)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    a.write_bytes(big)
    big[-1] = 1
    b.write_bytes(big)
    big[-1], big[0] = 0, 1
    c.write_bytes(big)
    fps = {file_fingerprint(p) for p in (a, b, c)}
    assert len(fps) == 3 and all(len(f) == 16 for f in fps)
