"""Step 5, the text page's data tools: examples from label names, pseudo-labels, label audit.

Each starts a job (:mod:`byod.studio.textjobs`: the library call of ``byod text generate``,
``byod text pseudolabel`` or ``byod labels audit``) whose card survives a reload. A
pseudo-label card splits the soft labels by a confidence threshold and serves the kept rows;
an audit card lists the suggested corrections to accept or reject one by one.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, HTMLResponse, Response

from byod.errors import ByodError
from byod.studio.corrections import audit_view, decide, write_labels_file
from byod.studio.pages import render, save_upload, upload_name, workspace
from byod.studio.routers.jobs import job_card
from byod.studio.routers.text import (
    TEXT_BACKBONES,
    checked_draft,
    form_fields,
    job_models,
    saved_draft,
)
from byod.studio.softlabels import parse_threshold, put_threshold, soft_labels, soft_view
from byod.studio.textflow import draft_from_form
from byod.studio.textjobs import audit_folds
from byod.studio.workspace import Workspace

router = APIRouter()

LABELS_FILE = "labels.csv"  # WORK/text/labels.csv: the page's labels, as the audit reads them
MAX_PASTED = 5000  # pasted sentences per job (a bigger set comes as a file)


def _error(request: Request, exc: Exception) -> HTMLResponse:
    return render(request, "_error.html", error=str(exc))


@router.post("/text/generate-zero")
async def generate_zero(request: Request) -> HTMLResponse:
    """Start a ``generate`` job: the LLM writes examples from the label names alone."""
    ws = workspace(request)
    form = await form_fields(request)
    try:
        draft = checked_draft(ws, form)
        n = int(form.get("n_per_label") or 4)
        if not 1 <= n <= 32:
            raise ByodError("write between 1 and 32 examples per label")
    except (ByodError, ValueError) as exc:
        return _error(request, exc)
    spec = {
        "draft": dataclasses.asdict(draft),
        "n_per_label": n,
        "backbone": form.get("backbone", "").strip() or "none",  # near duplicates, as the CLI
        **job_models(ws, form),
    }
    return job_card(request, ws.jobs.state(ws.jobs.start("generate", spec)))


async def _unlabelled_file(request: Request, ws: Workspace, form: Any) -> Path:
    """The unlabelled texts as a file.

    The uploaded one (it needs a ``text`` column), else the pasted lines written to
    ``WORK/text/unlabelled/``.
    """
    from byod.tabular import read_table

    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        path = await save_upload(request, upload, "text/unlabelled", upload_name(upload, "t.csv"))
        df = read_table(path, text_columns=("text",))  # a missing column or blank row: one line
        if df.height == 0:
            raise ByodError(f"{path.name} has no rows")
        return path
    lines = [" ".join(ln.split()) for ln in str(form.get("unlabelled", "")).splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise ByodError("upload a file with a text column or paste sentences, one per line")
    if len(lines) > MAX_PASTED:
        raise ByodError(f"{len(lines)} pasted sentences; paste at most {MAX_PASTED} or upload")
    import polars as pl

    from byod.atomic import write_csv

    path = ws.root / "text" / "unlabelled" / f"pasted-{uuid.uuid4().hex[:8]}.csv"
    return write_csv(pl.DataFrame({"text": lines}), path)


@router.post("/text/pseudolabel")
async def start_pseudolabel(request: Request) -> HTMLResponse:
    """Start a ``pseudolabel`` job on an uploaded file or pasted sentences."""
    ws = workspace(request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        draft = checked_draft(ws, fields)
        threshold = parse_threshold(fields.get("threshold"))
        texts_file = await _unlabelled_file(request, ws, form)
    except ByodError as exc:
        return _error(request, exc)
    spec = {
        "draft": dataclasses.asdict(draft),
        "texts_file": str(texts_file),
        "threshold": threshold,
        "calibrated": fields.get("calibrate") == "on",
        **job_models(ws, fields),
    }
    return job_card(request, ws.jobs.state(ws.jobs.start("pseudolabel", spec)))


def _soft_job(ws: Workspace, job: str) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    folder, state = ws.jobs.folder(job), ws.jobs.state(job)
    if state.get("kind") != "pseudolabel":
        raise ByodError(f"job {job} is not a pseudo-label job")
    return folder, state, ws.jobs.spec(job)


@router.post("/text/pseudolabel/{job}/threshold")
async def threshold(request: Request, job: str) -> HTMLResponse:
    """Split the job's soft labels at a new confidence threshold (remembered for reloads)."""
    ws = workspace(request)
    form = await form_fields(request)
    try:
        folder, state, spec = _soft_job(ws, job)
        put_threshold(folder, parse_threshold(form.get("threshold")))
        view = soft_view(folder, state, spec)
    except ByodError as exc:
        return _error(request, exc)
    return render(request, "_soft.html", job=state, soft=view)


@router.get("/text/pseudolabel/{job}/{which}.csv")
def download_soft(request: Request, job: str, which: str) -> Response:
    """The soft labels as CSV: ``kept`` (at the card's threshold, ready to train on) or ``all``."""
    import polars as pl

    from byod.studio.softlabels import threshold_of

    ws = workspace(request)
    try:
        if which not in ("kept", "all"):
            raise ByodError(f"download kept or all, not {which!r}")
        folder, state, spec = _soft_job(ws, job)
        df = soft_labels(state)
        if df is None:
            raise ByodError(f"job {job} has no soft labels yet")
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc), status_code=404)
    if which == "kept":
        df = df.filter(pl.col("confidence") >= threshold_of(folder, spec))
    name = f"soft-labels-{job}-{which}.csv"
    return Response(
        df.write_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/text/audit")
async def start_audit(request: Request) -> HTMLResponse:
    """Write the page's labels file and start an ``audit`` job over it."""
    ws = workspace(request)
    form = await form_fields(request)
    try:
        draft = checked_draft(ws, form)
        audit_folds(draft.pairs()[1])  # too few examples of a label: said before a job starts
        path = write_labels_file(draft, ws.root / "text" / LABELS_FILE)
    except ByodError as exc:
        return _error(request, exc)
    s = ws.settings
    spec = {
        "labels_file": str(path),
        "backbone": form.get("audit_backbone", "").strip() or TEXT_BACKBONES[0],
        "models_dir": str(s.models_dir) if s.models_dir else None,
        "vector_cache_dir": str(s.vector_cache_dir) if s.vector_cache_dir else None,
    }
    return job_card(request, ws.jobs.state(ws.jobs.start("audit", spec)))


@router.post("/text/audit/{job}/decide")
async def decide_one(request: Request, job: str) -> HTMLResponse:
    """Accept or reject one suggested correction.

    The reply is the card's table and counts, and the example boxes (out of band: an accepted
    example moves to its new label's box).
    """
    ws = workspace(request)
    form = await form_fields(request)
    try:
        state = ws.jobs.state(job)
        folder = ws.jobs.folder(job)
        draft = draft_from_form(form) if form.get("labels") else saved_draft(request)
        row = int(form.get("row", ""))
        decide(folder, state, row, form.get("decision", ""), draft)
    except (ByodError, ValueError) as exc:
        return _error(request, exc)
    ws.put_text_draft(dataclasses.asdict(draft))
    return render(
        request,
        "_audit_decided.html",
        job=state,
        audit=audit_view(folder, state),
        draft=draft,
        focus_next=True,  # the keyboard goes on to the next pending suggestion
    )


@router.get("/text/audit/{job}/report")
def audit_report(request: Request, job: str) -> Response:
    """The audit's ``summary.html`` (the CLI's report: rounds, flags by label, top suspects)."""
    ws = workspace(request)
    try:
        path = ws.jobs.state(job).get("outputs", {}).get("report")
        if not path or not Path(path).is_file():
            raise ByodError(f"job {job} has no audit report")
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc), status_code=404)
    return FileResponse(path, media_type="text/html; charset=utf-8")


@router.get("/text/labels.csv")
def labels_file(request: Request) -> Response:
    """The page's labels file (``text,label``) with every accepted correction."""
    path = workspace(request).root / "text" / LABELS_FILE
    if not path.is_file():
        return render(
            request, "_error.html", error="no labels file yet: audit first", status_code=404
        )
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=LABELS_FILE)
