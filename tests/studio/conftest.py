"""A real `byod studio` (uvicorn on loopback) over a tiny generated log, driven by Playwright
with Debian's chromium (no browser download). The tiny BERT folder of tests/conftest.py is the
backbone, so pretraining takes seconds."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest

BYOD = Path(sys.executable).with_name("byod")
N_USERS = 40
WORDS = ["action", "drama", "comedy", "horror", "space"]  # in the tiny BERT's vocabulary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_tiny_log(folder: Path) -> tuple[Path, Path]:
    """A CSV log (two services, local times, 3 broken rows, 1 duplicate) and a labels CSV."""
    rng = np.random.default_rng(0)
    lines, labels = ["uid,ts,svc,title,category,item"], ["uid,likes"]
    t0 = datetime(2024, 1, 1, 9)
    for u in range(N_USERS):
        taste = [WORDS[u % 2], WORDS[2 + u % 3]]
        for k in range(int(rng.integers(8, 14))):
            word = taste[k % 2]
            ts = (t0 + timedelta(hours=int(rng.integers(0, 900)))).strftime("%Y-%m-%d %H:%M:%S")
            svc = "shop" if k % 2 else "search"
            item = int(rng.integers(0, 30))
            lines.append(f"user{u},{ts},{svc},{word} item {item},{taste[0]},{word}-{item}")
        labels.append(f"user{u},{taste[0]}")
    lines.append(lines[1])  # a duplicate of the first event
    lines.append("user1,not-a-time,shop,action item 1,action,action-1")
    lines.append(",2024-01-02 10:00:00,shop,action item 2,action,action-2")
    lines.append("user2,2024-01-03 10:00:00,shop,,,x")  # blank text
    log, lab = folder / "tiny-log.csv", folder / "likes.csv"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    lab.write_text("\n".join(labels) + "\n", encoding="utf-8")
    return log, lab


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory) -> tuple[Path, Path]:
    return write_tiny_log(tmp_path_factory.mktemp("studio-data"))


def start_studio(work: Path, backbone: Path | str, home: Path) -> tuple[subprocess.Popen, str]:
    """`byod studio` in a subprocess on a free loopback port; waits until it answers."""
    port = free_port()
    env = {**os.environ, "BYOD_HOME": str(home), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            str(BYOD),
            "studio",
            "--work",
            str(work),
            "--port",
            str(port),
            "--backbone",
            str(backbone),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            pytest.fail(f"byod studio exited: {proc.stdout.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{base}/data", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("byod studio did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def studio(tmp_path_factory, tiny_st_folder):
    """(base URL, work folder, backbone folder) of a running studio; stopped at the end."""
    from byod.studio.app import htmx_installed

    if not htmx_installed():
        pytest.fail(
            "htmx is not installed for the studio; run `make install` (npm ci --prefix studio)",
            pytrace=False,
        )
    root = tmp_path_factory.mktemp("studio")
    proc, base = start_studio(root / "work", tiny_st_folder, root / "home")
    yield base, root / "work", tiny_st_folder
    stop(proc)


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium through Playwright (never a downloaded browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "playwright is missing: `pip install playwright` (make install does)", pytrace=False
        )
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "`chromium` is not on PATH; apt-get install -y chromium (make install does)",
            pytrace=False,
        )
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=path,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, studio):
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # a loaded 2-core machine: model loads take seconds
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=studio[0])
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


# Words of the text tests: Korean reviews made of a few words each, so tiny models built here
# (word-level vocabularies) read every word; no real model is downloaded or loaded.
KO_POS = ["재미", "최고", "감동", "명작", "추천"]
KO_NEG = ["지루", "최악", "실망", "졸작", "후회"]
KO_WORDS = [
    *KO_POS,
    *KO_NEG,
    "영화",
    "연기",
    "배우",
    "정말",
    "너무",
    "긍정",
    "부정",
    "감정",
    "리뷰",
]


@pytest.fixture(scope="session")
def tiny_ko_st_folder(tmp_path_factory, tiny_st_builder) -> Path:
    """A tiny BERT sentence-transformers folder whose vocabulary holds the Korean test words.

    Cased (``do_lower_case=False``): lower-casing strips accents, and that decomposes Hangul
    syllables into jamo that the vocabulary does not hold.
    """
    return tiny_st_builder(tmp_path_factory.mktemp("tiny-ko-st"), KO_WORDS, lower_case=False)


@pytest.fixture(scope="session")
def tiny_llm_folder(tmp_path_factory) -> Path:
    """A 2-layer Llama with random weights over a word-level vocabulary (the test words, the
    prompt's punctuation), saved as a transformers folder: an LLM the studio opens by path."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    english = [*WORDS, "item", *map(str, range(30))]  # the words of the tiny BERT's examples
    tokens = ["<pad>", "<s>", "</s>", "<unk>", *KO_WORDS, *english, "N/A", "(", ")", ":", "[", "]"]
    vocab = {w: i for i, w in enumerate(dict.fromkeys(tokens))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>", unk_token="<unk>")  # fmt: skip
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tiny-llm") / "llm"
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
