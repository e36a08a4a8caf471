"""Pure ASGI middleware: the request body limit, the version header and Prometheus metrics.

Pure ASGI (not ``BaseHTTPMiddleware``) so streamed bodies are counted as they arrive and the
response is not buffered.
"""

from __future__ import annotations

import time

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["BodyLimit", "Observe", "make_metrics", "VERSION_HEADER", "DEPLOYMENT_HEADER"]

VERSION_HEADER = b"x-byod-table-version"
DEPLOYMENT_HEADER = b"x-byod-deployment"  # the manifest hash: which build answered


def _json_error(status: int, message: str) -> tuple[dict, dict]:
    body = orjson.dumps({"error": {"status": status, "message": message}})
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
    }
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    """Reject request bodies over ``limit`` bytes with a JSON 413 (declared or streamed)."""

    def __init__(self, app, limit: int) -> None:  # noqa: ANN001
        self.app = app
        self.limit = limit

    def _message(self) -> str:
        return (
            f"request body is over the limit of {self.limit:,} bytes; send fewer ids / events "
            "per request (or raise BYOD_SERVE_MAX_BODY_BYTES)"
        )

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001, D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            for message in _json_error(413, self._message()):
                await send(message)
            return
        if declared is None and scope["method"] in ("POST", "PUT", "PATCH"):
            # A streamed (chunked) body: read it here, up to the limit, then replay it. The
            # route's own body parser would turn an exception from `receive` into a 400.
            messages = await self._buffer(receive)
            if messages is None:
                for message in _json_error(413, self._message()):
                    await send(message)
                return
            receive = _replay(messages, receive)
        await self.app(scope, receive, send)

    async def _buffer(self, receive) -> list[dict] | None:  # noqa: ANN001
        messages, seen = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            seen += len(message.get("body", b""))
            if seen > self.limit:
                return None
            if not message.get("more_body", False):
                return messages


def _replay(messages: list[dict], receive):  # noqa: ANN001, ANN202
    pending = list(messages)

    async def replay() -> dict:
        return pending.pop(0) if pending else await receive()

    return replay


def make_metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    """Request counter and latency histogram in their own registry (one per app)."""
    requests = Counter(
        "byod_requests", "HTTP requests", ["route", "method", "status"], registry=registry
    )
    latency = Histogram(
        "byod_request_seconds",
        "Request latency",
        ["route"],
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        registry=registry,
    )
    return requests, latency


class Observe:
    """Add ``X-BYOD-Table-Version`` to every response; count and time requests by route."""

    def __init__(self, app, holder, metrics: tuple[Counter, Histogram]) -> None:  # noqa: ANN001
        self.app = app
        self.holder = holder
        self.requests, self.latency = metrics

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001, D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def send_with_version(message) -> None:  # noqa: ANN001
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # The version that answered: set by the endpoint's dependency, else the current.
                version, digest = scope.get("byod.version"), scope.get("byod.deployment")
                current = self.holder.current
                if version is None and current is not None:
                    version, digest = current.version, current.digest
                headers = list(message.get("headers", []))
                headers.append((VERSION_HEADER, (version or "none").encode()))
                headers.append((DEPLOYMENT_HEADER, (digest or "none").encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_version)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", "unmatched")
            self.requests.labels(name, scope["method"], str(status)).inc()
            self.latency.labels(name).observe(time.perf_counter() - t0)
