"""OpenAICompatLM against a fake OpenAI-compatible server running in a thread."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from byod.errors import ByodError
from byod.textlab.llm.base import LLM, ScoringUnsupported
from byod.textlab.llm.openai_http import OpenAICompatLM

GENERATED = "hello world\nsecond line"


def toy_tokens(text: str) -> list[tuple[str, int]]:
    """Words with their leading whitespace (as BPE tokenizers attach it), with char offsets."""
    return [(m.group(), m.start()) for m in re.finditer(r"\s*\S+", text)]


def toy_logprob(token: str) -> float:
    return -0.1 * len(token.strip())


class FakeServer(ThreadingHTTPServer):
    """Modes: echo, reject_zero (400 on max_tokens=0), ignore_echo, no_logprobs, not_found, error."""

    mode = "echo"

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.headers_seen: list[dict] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        self.server.headers_seen.append(dict(self.headers))
        mode = self.server.mode
        if self.path != "/v1/completions" or mode == "not_found":
            return self.reply(404, {"error": {"message": "route not found"}})
        if mode == "error":
            return self.reply(500, {"error": {"message": "model crashed"}})
        if body.get("echo") and mode == "reject_zero" and body["max_tokens"] == 0:
            return self.reply(400, {"object": "error", "message": "max_tokens must be >= 1"})
        if body.get("echo") and mode in ("echo", "reject_zero"):
            return self.reply(200, {"choices": [echo_choice(body["prompt"], body["max_tokens"])]})
        return self.reply(200, {"choices": [generated_choice(body, mode)]})

    def reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def echo_choice(prompt: str, max_tokens: int) -> dict:
    tokens = toy_tokens(prompt)
    values: list[float | None] = [None] + [toy_logprob(t) for t, _ in tokens[1:]]
    text = prompt
    if max_tokens > 0:  # one generated token after the prompt, which scoring must ignore
        tokens.append((" x", len(prompt)))
        values.append(-5.0)
        text += " x"
    logprobs = {
        "tokens": [t for t, _ in tokens],
        "token_logprobs": values,
        "top_logprobs": [None] * len(tokens),
        "text_offset": [o for _, o in tokens],
    }
    return {"index": 0, "text": text, "logprobs": logprobs, "finish_reason": "length"}


def generated_choice(body: dict, mode: str) -> dict:
    prompt = body["prompt"]
    logprobs = None
    if mode == "ignore_echo" and body.get("logprobs"):
        # What a server that ignores echo returns: generated tokens only, offsets after the prompt.
        logprobs = {"tokens": [" yes"], "token_logprobs": [-0.3], "text_offset": [len(prompt)]}
        return {"index": 0, "text": " yes", "logprobs": logprobs}
    return {"index": 0, "text": GENERATED, "logprobs": logprobs, "finish_reason": "stop"}


@pytest.fixture
def server() -> Iterator[FakeServer]:
    srv = FakeServer()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


def make_lm(srv: FakeServer, **kwargs: object) -> OpenAICompatLM:
    return OpenAICompatLM(srv.base_url, "toy", timeout=5, retry_backoff=0.01, **kwargs)


def test_generate_cuts_at_stop_and_passes_options(server: FakeServer) -> None:
    lm = make_lm(server)
    out = lm.generate(["a", "b"], max_new_tokens=7, temperature=0.0, stop="\n", seed=3)
    assert out == ["hello world", "hello world"]
    assert [r["prompt"] for r in server.requests] == ["a", "b"]
    first = server.requests[0]
    assert first["model"] == "toy"
    assert (first["max_tokens"], first["temperature"], first["stop"], first["seed"]) == (
        7,
        0.0,
        ["\n"],
        3,
    )


def test_generate_without_stop_keeps_everything(server: FakeServer) -> None:
    assert make_lm(server).generate(["a"], stop=None) == [GENERATED]
    assert "stop" not in server.requests[0]


def test_score_sums_only_continuation_tokens(server: FakeServer) -> None:
    lm = make_lm(server)
    scores = lm.score("The cat", [" sat down", " ran", ""])
    # " sat" -0.3 + " down" -0.4; " ran" -0.3; an empty continuation has probability 1.
    np.testing.assert_allclose(scores, [-0.7, -0.3, 0.0])
    assert scores.dtype == np.float64
    sent = [r for r in server.requests if r.get("echo")]
    assert [r["prompt"] for r in sent] == ["The cat sat down", "The cat ran"]
    assert all(r["logprobs"] == 1 and r["max_tokens"] == 0 for r in sent)


def test_score_falls_back_to_one_token_when_zero_is_rejected(server: FakeServer) -> None:
    server.mode = "reject_zero"
    lm = make_lm(server)
    np.testing.assert_allclose(lm.score("The cat", [" sat down"]), [-0.7])  # " x" not counted
    np.testing.assert_allclose(lm.score("The cat", [" ran"]), [-0.3])
    assert [r["max_tokens"] for r in server.requests] == [0, 1, 1]  # learnt once


def test_score_rejects_first_token_without_logprob(server: FakeServer) -> None:
    with pytest.raises(ByodError, match="non-empty context"):
        make_lm(server).score("", ["The cat"])


def test_score_rejects_continuation_merged_into_context(server: FakeServer) -> None:
    with pytest.raises(ByodError, match="merged"):
        make_lm(server).score("The c", ["at"])


def test_can_score_probes_once(server: FakeServer) -> None:
    lm = make_lm(server)
    assert lm.can_score is True
    assert lm.can_score is True
    assert len(server.requests) == 1
    assert isinstance(lm, LLM)


@pytest.mark.parametrize("mode", ["ignore_echo", "no_logprobs", "not_found"])
def test_server_without_echo_cannot_score(server: FakeServer, mode: str) -> None:
    server.mode = mode
    lm = make_lm(server)
    assert lm.can_score is False
    with pytest.raises(ScoringUnsupported) as info:
        lm.score("The cat", [" sat"])
    message = str(info.value)
    assert server.base_url + "/completions" in message
    assert "llama.cpp" in message and "vLLM" in message and "echo" in message


def test_score_unsupported_is_detected_without_probe(server: FakeServer) -> None:
    server.mode = "no_logprobs"
    lm = make_lm(server)
    with pytest.raises(ScoringUnsupported):
        lm.score("The cat", [" sat"])
    assert lm.can_score is False
    assert len(server.requests) == 1  # the failed score answered the probe


def test_http_error_names_url_status_and_message(server: FakeServer) -> None:
    server.mode = "error"
    lm = make_lm(server)
    with pytest.raises(ByodError, match="500") as info:
        lm.generate(["a"])
    assert server.base_url + "/completions" in str(info.value)
    assert "model crashed" in str(info.value)
    assert len(server.requests) == 1  # HTTP errors are not retried


def test_http_error_during_probe_is_raised_not_cached(server: FakeServer) -> None:
    server.mode = "error"
    lm = make_lm(server)
    with pytest.raises(ByodError, match="500"):
        _ = lm.can_score
    server.mode = "echo"
    assert lm.can_score is True


def test_api_key_is_sent_but_not_shown(server: FakeServer) -> None:
    lm = make_lm(server, api_key="sk-secret")
    lm.generate(["a"])
    assert server.headers_seen[0]["Authorization"] == "Bearer sk-secret"
    assert "sk-secret" not in repr(lm)


def test_unreachable_port_raises_after_retries() -> None:
    with socket.socket() as s:  # a port nothing listens on once the socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lm = OpenAICompatLM(
        f"http://127.0.0.1:{port}/v1", "toy", timeout=0.5, max_retries=2, retry_backoff=0.01
    )
    with pytest.raises(ByodError, match="after 3 attempts") as info:
        lm.generate(["a"])
    assert f"127.0.0.1:{port}/v1/completions" in str(info.value)


def test_fingerprint_depends_on_url_and_model() -> None:
    a = OpenAICompatLM("http://h:1/v1", "m1")
    assert len(a.fingerprint) == 16
    assert a.fingerprint == OpenAICompatLM("http://h:1/v1/", "m1").fingerprint
    assert a.fingerprint != OpenAICompatLM("http://h:1/v1", "m2").fingerprint
    assert a.fingerprint != OpenAICompatLM("http://h:2/v1", "m1").fingerprint
    assert a.name == "m1"
