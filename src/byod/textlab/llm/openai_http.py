"""An :class:`~byod.textlab.llm.base.LLM` over any OpenAI-compatible HTTP endpoint.

Works with vLLM, llama.cpp's server, Ollama and hosted APIs, through the legacy ``/completions``
route only (standard library HTTP, no client package). Generation works everywhere that route
exists. Scoring needs the server to echo the prompt with per-token log-probabilities
(``echo=true, logprobs=1``): vLLM does, most hosted APIs and chat-only servers do not, and then
:meth:`OpenAICompatLM.score` raises :class:`~byod.textlab.llm.base.ScoringUnsupported`.

Limits:
    * Scoring sends the text ``context + continuation`` and keeps the prompt tokens whose character
      offset is at or after ``len(context)``. When the server's tokenizer merges the last context
      characters with the first continuation characters into one token, that token is not counted;
      start continuations with the separating space (``" positive"``) so the boundary falls between
      tokens, as BPE tokenizers attach a leading space to the following word.
    * One request per prompt / per continuation; the shared context is evaluated once only when
      the server caches prefixes (vLLM with prefix caching does).
    * HTTP errors are not retried (a 500 on one prompt usually repeats); connection errors are.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import numpy as np

from byod.errors import ByodError
from byod.textlab.llm.base import ScoringUnsupported

__all__ = ["OpenAICompatLM"]

_PROBE_CONTEXT = "Hello"
_PROBE_CONTINUATION = " world"


class _HTTPStatusError(ByodError):
    """The endpoint answered with an HTTP error status (kept so scoring can tell 400 from 500)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class OpenAICompatLM:
    """A model served behind an OpenAI-compatible ``/completions`` endpoint.

    Args:
        base_url: the API root, e.g. ``http://localhost:8000/v1`` (``/completions`` is appended).
        model: the model id the server expects in the ``model`` field.
        api_key: sent as ``Authorization: Bearer ...`` when given (the caller reads it from
            wherever it keeps secrets; this class never reads the environment).
        timeout: seconds to wait for one HTTP response.
        max_retries: how many times a failed connection is retried before giving up.
        retry_backoff: seconds before the first retry; doubled for each further retry.

    Attributes:
        name: the model id.
        fingerprint: first 16 hex digits of sha256 over base URL and model id.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60,
        max_retries: int = 2,
        *,
        retry_backoff: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = model
        self.fingerprint = hashlib.sha256(f"{self.base_url}\n{model}".encode()).hexdigest()[:16]
        self._api_key = api_key
        self._timeout = timeout
        self._max_retries = max_retries
        self._retry_backoff = retry_backoff
        self._can_score: bool | None = None
        # Some servers reject max_tokens=0; learnt on the first scoring request, then reused.
        self._echo_max_tokens = 0

    def __repr__(self) -> str:  # no api_key in reprs / logs
        return f"OpenAICompatLM(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def can_score(self) -> bool:
        """Whether the endpoint echoes prompt log-probabilities, so :meth:`score` works.

        Probed lazily with one tiny scoring request on first access, then cached. Connection
        errors are raised (as :class:`ByodError`) and not cached, so a server that was down is
        probed again next time. On Python 3.11, ``isinstance(lm, LLM)`` reads this attribute and
        so triggers the probe.
        """
        if self._can_score is None:
            try:
                self.score(_PROBE_CONTEXT, [_PROBE_CONTINUATION])
            except ScoringUnsupported:
                self._can_score = False
            else:
                self._can_score = True
        return self._can_score

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 64,
        temperature: float = 0.8,
        stop: str | None = "\n",
        seed: int = 0,
    ) -> list[str]:
        """One completion per prompt, one request each, cut before ``stop``.

        Args:
            prompts: the prompts; each is sent alone.
            max_new_tokens: ``max_tokens`` of each request.
            temperature: sampling temperature (0 is greedy).
            stop: the text is cut before its first occurrence (also sent to the server).
            seed: sampling seed, sent as ``seed`` (servers that ignore it are not reproducible).

        Returns:
            The generated texts, in prompt order, without the prompts.
        """
        texts = []
        for prompt in prompts:
            payload: dict[str, Any] = {
                "model": self.model,
                "prompt": prompt,
                "max_tokens": max_new_tokens,
                "temperature": temperature,
                "seed": seed,
            }
            if stop:
                payload["stop"] = [stop]
            choice = _first_choice(self._post("/completions", payload), self._url("/completions"))
            text = str(choice.get("text") or "")
            texts.append(text.split(stop, 1)[0] if stop else text)
        return texts

    def score(self, context: str, continuations: Sequence[str]) -> np.ndarray:
        """Summed log-probability of each continuation's tokens after ``context``.

        Args:
            context: the shared prefix; must be non-empty (the first prompt token has no
                log-probability).
            continuations: texts scored each as if appended to ``context`` alone.

        Returns:
            ``(len(continuations),)`` float64 log-probabilities.

        Raises:
            ScoringUnsupported: the endpoint does not echo prompt log-probabilities.
            ByodError: HTTP / connection errors, or a continuation the tokenizer merged into the
                context's last token.
        """
        if self._can_score is False:
            raise self._unsupported("it returned no prompt log-probabilities earlier")
        out = np.zeros(len(continuations), dtype=np.float64)
        for i, continuation in enumerate(continuations):
            if continuation:
                out[i] = self._score_one(context, continuation)
        return out

    def _score_one(self, context: str, continuation: str) -> float:
        text = context + continuation
        logprobs = self._echo_logprobs(text)
        offsets = logprobs["text_offset"]
        values = logprobs["token_logprobs"]
        total, n_tokens = 0.0, 0
        for offset, value in zip(offsets, values, strict=True):
            # Tokens past the text are the one generated token when max_tokens had to be 1.
            if not len(context) <= offset < len(text):
                continue
            if value is None:
                raise ByodError(
                    f"{self._url('/completions')} gave no log-probability for the first token of "
                    f"{continuation!r}; give a non-empty context"
                )
            total += float(value)
            n_tokens += 1
        if n_tokens == 0:
            raise ByodError(
                f"the tokenizer of {self.model!r} merged continuation {continuation!r} into the "
                f"last token of the context; start the continuation with a space or end the "
                f"context with one"
            )
        return total

    def _echo_logprobs(self, text: str) -> dict[str, list[Any]]:
        """The ``logprobs`` object of an echoed prompt, checked to cover the whole prompt."""
        url = self._url("/completions")
        choice = _first_choice(self._post_echo(text), url)
        logprobs = choice.get("logprobs")
        if not isinstance(logprobs, dict) or not logprobs.get("text_offset"):
            self._can_score = False
            raise self._unsupported("its response has no prompt log-probabilities")
        offsets, values = logprobs["text_offset"], logprobs.get("token_logprobs") or []
        # A server that ignores echo returns only generated tokens, whose offsets start past the
        # prompt; without this check they would silently be scored as the continuation.
        echoed = str(choice.get("text") or "").startswith(text)
        if not echoed or offsets[0] != 0 or len(values) != len(offsets):
            self._can_score = False
            raise self._unsupported("it does not echo the prompt's tokens")
        self._can_score = True
        return {"text_offset": offsets, "token_logprobs": values}

    def _post_echo(self, text: str) -> dict[str, Any]:
        """Post an echo request, falling back to ``max_tokens=1`` where 0 is rejected."""
        while True:
            payload = {
                "model": self.model,
                "prompt": text,
                "max_tokens": self._echo_max_tokens,
                "temperature": 0,
                "echo": True,
                "logprobs": 1,
            }
            try:
                return self._post("/completions", payload)
            except _HTTPStatusError as err:
                if err.status in (400, 422) and self._echo_max_tokens == 0:
                    self._echo_max_tokens = 1
                    continue
                if err.status in (400, 404, 422):
                    self._can_score = False
                    raise self._unsupported(f"it refused the request ({err})") from err
                raise

    def _unsupported(self, why: str) -> ScoringUnsupported:
        return ScoringUnsupported(
            f"{self._url('/completions')} (model {self.model!r}) cannot score continuations: "
            f"{why}. Soft labels need prompt log-probabilities: use a local transformers or "
            f"llama.cpp backend, or a server that supports echo + logprobs on /completions "
            f"(vLLM, llama.cpp server)"
        )

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST JSON, retrying connection errors; HTTP errors raise at once."""
        url = self._url(path)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(
            url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        for attempt in range(self._max_retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as response:
                    body = response.read()
                break
            except urllib.error.HTTPError as err:
                message = _server_message(err.read())
                raise _HTTPStatusError(
                    f"{url} answered HTTP {err.code}: {message}", err.code
                ) from err
            except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
                if attempt == self._max_retries:
                    reason = getattr(err, "reason", err)
                    raise ByodError(
                        f"cannot reach {url} after {attempt + 1} attempts: {reason}; check that "
                        f"the server is running and base_url is right"
                    ) from err
                time.sleep(self._retry_backoff * 2**attempt)
        try:
            return json.loads(body)
        except json.JSONDecodeError as err:
            raise ByodError(f"{url} did not answer JSON: {body[:200]!r}") from err


def _first_choice(response: dict[str, Any], url: str) -> dict[str, Any]:
    choices = response.get("choices") if isinstance(response, dict) else None
    if not choices or not isinstance(choices[0], dict):
        raise ByodError(f"{url} answered without 'choices': {str(response)[:200]}")
    return choices[0]


def _server_message(body: bytes) -> str:
    """The error text of an OpenAI-style (or vLLM / FastAPI style) error body, else the body."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text[:300] or "(empty body)"
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            error = error.get("message") or error.get("detail") or error
        return str(error)[:300]
    return text[:300]
