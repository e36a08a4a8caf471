"""``create_studio_app(settings)``: the studio's pages, its static assets and the live service.

Server-rendered (Jinja2) pages, made interactive with htmx (installed from npm at set-up and
served from ``static/vendor``; no CDN). Long work runs in job processes
(:mod:`byod.studio.jobs`), so no request waits on training; the deployed service is mounted
under ``/serve``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlparse

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from byod import __version__
from byod.studio.i18n import LANGS
from byod.studio.pages import STATIC
from byod.studio.routers import data, deploy, jobs, tasks, text, textdata
from byod.studio.service import PREFIX
from byod.studio.settings import StudioSettings
from byod.studio.workspace import Workspace

__all__ = ["create_studio_app", "HTMX", "htmx_installed"]

HTMX = STATIC / "vendor" / "htmx.min.js"


def htmx_installed() -> bool:
    """Whether the npm-installed htmx asset is in place (``make install`` copies it)."""
    return HTMX.is_file()


def create_studio_app(settings: StudioSettings) -> FastAPI:
    """The studio over ``settings.work_dir``."""
    ws = Workspace(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ws.service.restore()  # what was promoted before a restart is served again
        yield

    app = FastAPI(
        title="byod studio",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.workspace = ws
    routers = (data.router, jobs.router, tasks.router, deploy.router, text.router, textdata.router)
    for router in routers:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount(PREFIX, ws.service, name="serve")

    @app.middleware("http")
    async def same_page_only(request: Request, call_next):  # noqa: ANN001, ANN202
        # The studio has no login: a page of another site could post a form to loopback, but
        # it cannot add the header htmx sends (that would need CORS), so every studio POST
        # needs it. The service under /serve has its own API keys.
        own = not request.url.path.startswith(PREFIX)
        if request.method == "POST" and own and request.headers.get("hx-request") != "true":
            return PlainTextResponse("studio actions come from the studio's own page", 403)
        return await call_next(request)

    # A name that resolves to loopback by a rebinding DNS trick is still refused.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "[::1]"])

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/data", status_code=303)

    @app.get("/lang/{code}", include_in_schema=False)
    def language(code: str, request: Request) -> Response:
        back = urlparse(request.headers.get("referer") or "").path or "/data"  # own pages only
        reply = RedirectResponse(back, status_code=303)
        reply.set_cookie("lang", code if code in LANGS else "en", samesite="lax")
        return reply

    return app
