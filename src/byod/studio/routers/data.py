"""Step 1, bring data: upload or point at a file, preview, map columns, validate, save YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from byod.errors import ByodError
from byod.studio.mapping import (
    TIME_CHOICES,
    UPLOAD_SUFFIXES,
    preview,
    source_from_form,
    template_preview,
    validate,
)
from byod.studio.pages import render, save_upload, upload_name, workspace

router = APIRouter()


def _mapping(request: Request, path: Path) -> HTMLResponse:
    try:
        info = preview(path)
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    known = next((s for s in workspace(request).sources if s["path"] == str(path)), {})
    return render(request, "_mapping.html", info=info, times=TIME_CHOICES, src=known)


@router.get("/data")
def data_page(request: Request) -> HTMLResponse:
    """The bring-data page."""
    return render(request, "data.html")


@router.post("/data/upload")
async def upload(request: Request, file: Annotated[UploadFile, File()]) -> HTMLResponse:
    """Save an uploaded log file under the work folder and show its preview + mapping form."""
    name = upload_name(file, "upload.csv")
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        return render(
            request,
            "_error.html",
            error=f"{name}: expected a .csv, .tsv, .jsonl or .parquet file (.gz too)",
        )
    target = await save_upload(request, file, "uploads", name)
    return await run_in_threadpool(_mapping, request, target)


@router.post("/data/path")
def from_path(request: Request, path: Annotated[str, Form()]) -> HTMLResponse:
    """Preview a file already on this machine."""
    return _mapping(request, Path(path.strip()).expanduser())


@router.post("/data/template")
def live_template(
    request: Request, path: Annotated[str, Form()], text: Annotated[str, Form()] = ""
) -> HTMLResponse:
    """The event texts the template writes for the first rows (or why it cannot)."""
    try:
        texts = template_preview(Path(path), text)
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    return render(request, "_texts.html", texts=texts)


@router.post("/data/validate")
async def validate_mapping(request: Request) -> HTMLResponse:
    """Add the form's source to the mapping, write the YAML and run the ingest on it."""
    ws = workspace(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        ws.put_source(source_from_form(form))
        yaml_path, result = await run_in_threadpool(validate, ws.sources, ws.data_dir)
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    rejects = result.rejects.head(20).with_columns(pl.all().cast(pl.String))
    return render(
        request,
        "_validation.html",
        summary=result.summary,
        yaml_path=yaml_path,
        rejects=rejects,
        yaml_text=yaml_path.read_text(encoding="utf-8"),
    )


@router.post("/data/remove")
def remove_source(request: Request, path: Annotated[str, Form()]) -> HTMLResponse:
    """Forget a mapped source."""
    workspace(request).remove_source(path)
    return render(request, "_sources.html")
