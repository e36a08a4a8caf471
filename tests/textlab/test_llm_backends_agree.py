"""llama.cpp and transformers give the same soft labels from the same packaged GGUF file.

The two runtimes do not compute the same numbers: transformers dequantises the GGUF weights to
float32 and runs them in PyTorch, llama.cpp multiplies the quantised blocks directly (activations
rounded to 8 bits), so log-probabilities differ a little. What byod uses them for is the soft
label (a softmax over the summed log-probability of each label string), so that is what must
agree: every class probability within ``TOLERANCE`` on these clear-cut texts, and the same
argmax wherever transformers is not close to a tie. Over 100 real test texts per model
(``bench/llm_runtimes.py``, ``docs/benchmarks.md``) the mean |Δp| was 0.005-0.024, the largest
0.025-0.151 (one borderline NSMC review), and the argmax agreed on 96-100 % of the texts.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from byod.textlab.llm import open_llm
from byod.textlab.prompts import load_task
from byod.textlab.pseudolabel import prob_columns, pseudolabel

pytestmark = pytest.mark.slow

TOLERANCE = 0.05  # per class probability
TIE = 0.1  # argmax compared only where transformers' top two differ by more than this

ENGLISH = [
    "A warm, funny film with two wonderful performances.",
    "Dull, overlong and badly acted; I wanted to leave.",
    "The plot is thin but the music carries it.",
    "An instant classic that gets better every time.",
    "Nothing works here: the jokes fall flat.",
]
KOREAN = [
    "배우들 연기가 정말 훌륭하고 감동적인 영화",
    "시간이 아까운 최악의 영화, 스토리가 엉망이다",
    "그냥 볼만했어요. 기대보다는 조금 아쉬움",
    "올해 본 영화 중 최고! 또 보고 싶다",
    "지루하고 유치해서 중간에 나왔습니다",
]
CASES = [
    ("smollm2", "rotten-tomatoes", ["rotten", "fresh"], ENGLISH),
    ("qwen2.5-0.5b", "nsmc", ["negative", "positive"], KOREAN),
]


@pytest.fixture(scope="module")
def llm_dir(tmp_path_factory):
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail(
            "llama-cpp-python is not installed; `make install` builds it (the [llama] extra)",
            pytrace=False,
        )
    return tmp_path_factory.mktemp("llm")


def soft_labels(llm, task, texts: list[str], calibrated: bool) -> np.ndarray:
    """``(len(texts), n_labels)`` probabilities, one few-shot example per class in the prompt."""
    examples = [(texts[1], task.labels[0]), (texts[0], task.labels[1])]
    frame = pseudolabel(llm, task, texts[2:], examples=examples, calibrated=calibrated,
                        progress=False)  # fmt: skip
    return frame.select(prob_columns(task)).to_numpy()


@pytest.mark.parametrize(("name", "task_name", "labels", "texts"), CASES, ids=["en", "ko"])
def test_llama_cpp_and_transformers_agree_on_soft_labels(llm_dir, name, task_name, labels, texts):
    task = load_task(task_name, labels=labels)
    hf = open_llm(name, llm_dir=llm_dir, backend="transformers", threads=2)
    cpp = open_llm(name, llm_dir=llm_dir, backend="llama-cpp", threads=2)
    assert hf.fingerprint != "" and cpp.name == name
    for calibrated in (False, True):
        a = soft_labels(hf, task, texts, calibrated)
        b = soft_labels(cpp, task, texts, calibrated)
        np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-6)
        assert np.abs(a - b).max() <= TOLERANCE, (calibrated, a, b)
        top2 = np.sort(a, axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > TIE
        assert (a.argmax(1) == b.argmax(1))[clear].all(), (calibrated, a, b)
    # The raw scores too: summed log-probabilities of each label string after the same prompt.
    context = (
        "Movie review: great fun\nSentiment:" if name == "smollm2" else "영화 리뷰: 재밌다\n감정:"
    )
    raw_a = hf.score(context, [f" {w}" for w in task.words])
    raw_b = cpp.score(context, [f" {w}" for w in task.words])
    np.testing.assert_allclose(raw_a, raw_b, atol=0.3)
