"""Rendering: Jinja2 templates with the language of the request and the workspace."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request, UploadFile
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from byod.studio.i18n import LANGS, t
from byod.studio.workspace import Workspace

__all__ = ["templates", "render", "lang_of", "workspace", "fmt_seconds", "STATIC"]

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")


def fmt_seconds(value: float | None) -> str:
    """``1:02:03`` / ``2:03`` for an ETA; ``-`` when unknown."""
    if not isinstance(value, int | float):
        return "-"
    s = int(round(value))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


templates.env.filters["eta"] = fmt_seconds


def lang_of(request: Request) -> str:
    """The page language: the ``lang`` cookie, else English."""
    lang = request.cookies.get("lang", "en")
    return lang if lang in LANGS else "en"


def workspace(request: Request) -> Workspace:
    """The studio's workspace."""
    return request.app.state.workspace


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``name`` with ``t`` (the request's language), the workspace and ``context``."""
    lang = lang_of(request)
    ctx = {"t": lambda key: t(lang, key), "lang": lang, "ws": workspace(request), **context}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def upload_name(file: UploadFile, default: str) -> str:
    """The uploaded file's base name, anything but letters, digits and ``._-`` made ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", Path(file.filename or default).name)


async def save_upload(request: Request, file: UploadFile, folder: str, name: str) -> Path:
    """Stream an upload into ``WORK/folder/name`` in 1 MiB chunks; return its path."""
    target = workspace(request).root / folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        while chunk := await file.read(1 << 20):
            out.write(chunk)
    return target
