"""Every error as JSON ``{"error": {"status", "message"}}`` with a message the caller can act on."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from byod.errors import ByodError
from byod.serve.responses import FastJSON
from byod.serve.service import NotFound

__all__ = ["install_error_handlers"]


def _error(status: int, message: str, **extra: object) -> FastJSON:
    return FastJSON({"error": {"status": status, "message": message, **extra}}, status_code=status)


def _where(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if p != "body") or "body"


async def _validation(request: Request, exc: RequestValidationError) -> FastJSON:
    problems = [f"{_where(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()[:10]]
    return _error(422, "invalid request: " + "; ".join(problems), details=problems)


async def _http(request: Request, exc: StarletteHTTPException) -> FastJSON:
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"no endpoint {request.method} {request.url.path}; the API is listed at /docs"
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs"
    return _error(exc.status_code, message)


async def _not_found(request: Request, exc: NotFound) -> FastJSON:
    return _error(404, str(exc))


async def _byod(request: Request, exc: ByodError) -> FastJSON:
    return _error(422, str(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(ByodError, _byod)
