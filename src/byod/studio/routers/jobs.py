"""Step 2, build users (serialize → pretrain → embed as a job), and every job's live card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse

from byod.errors import ByodError
from byod.studio.corrections import audit_view
from byod.studio.pages import render, workspace
from byod.studio.softlabels import soft_view

router = APIRouter()

OBJECTIVES = ("clue", "simclr", "next")


def curve_points(curve: list[dict[str, Any]], key: str, w: int = 320, h: int = 120) -> str:
    """SVG polyline points of one loss over epochs, scaled into ``w`` x ``h``."""
    values = [c.get(key) for c in curve or []]
    values = [v for v in values if isinstance(v, int | float) and v == v]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)
    return " ".join(
        f"{8 + i * (w - 16) / n:.1f},{8 + (hi - v) / span * (h - 16):.1f}"
        for i, v in enumerate(values)
    )


def job_card(request: Request, state: dict[str, Any]) -> HTMLResponse:
    """The card of one job (it polls itself while the job runs)."""
    extra: dict[str, Any] = {}
    metrics = state.get("outputs", {}).get("metrics")
    if metrics and Path(metrics).exists():
        extra["metrics"] = json.loads(Path(metrics).read_text(encoding="utf-8"))
    ranking = state.get("outputs", {}).get("ranking")
    if ranking and Path(ranking).exists():
        extra["ranking"] = json.loads(Path(ranking).read_text(encoding="utf-8"))
    generated = state.get("outputs", {}).get("generated")
    if generated and Path(generated).exists():
        extra["generated"] = json.loads(Path(generated).read_text(encoding="utf-8"))
    held = state.get("outputs", {}).get("held_out")
    if held and Path(held).exists():
        extra["heldout"] = json.loads(Path(held).read_text(encoding="utf-8"))
    if state.get("curve"):
        extra["train_pts"] = curve_points(state["curve"], "train_loss")
        extra["val_pts"] = curve_points(state["curve"], "val_loss")
    ws = workspace(request)
    if state.get("kind") == "audit":
        extra["audit"] = audit_view(ws.jobs.folder(state["id"]), state)
    if state.get("kind") == "pseudolabel":
        folder = ws.jobs.folder(state["id"])
        extra["soft"] = soft_view(folder, state, ws.jobs.spec(state["id"]))
    served = ws.service.current
    return render(request, "_job.html", job=state, served=served, **extra)


@router.get("/build")
def build_page(request: Request) -> HTMLResponse:
    """The build page: settings and the build jobs."""
    ws = workspace(request)
    return render(
        request,
        "build.html",
        objectives=OBJECTIVES,
        jobs=ws.jobs.list("build"),
        backbone=ws.settings.backbone,
    )


@router.post("/build/start")
def start_build(
    request: Request,
    backbone: Annotated[str, Form()],
    objective: Annotated[str, Form()] = "clue",
    epochs: Annotated[int, Form(ge=1, le=1000)] = 3,
    batch_size: Annotated[int, Form(ge=2, le=4096)] = 64,
    patience: Annotated[int, Form(ge=1, le=1000)] = 3,
    max_events: Annotated[int, Form(ge=2, le=4096)] = 64,
) -> HTMLResponse:
    """Start a build job on the validated events."""
    ws = workspace(request)
    if ws.events is None:
        return render(request, "_error.html", error="validate a mapping first (step 1)")
    if objective not in OBJECTIVES:
        return render(request, "_error.html", error=f"objective must be one of {OBJECTIVES}")
    s = ws.settings
    spec = {
        "events": str(ws.events),
        "backbone": backbone.strip(),
        "objective": objective,
        "epochs": epochs,
        "batch_size": batch_size,
        "patience": patience,
        "max_events": max_events,
        "models_dir": str(s.models_dir) if s.models_dir else None,
        "vector_cache_dir": str(s.vector_cache_dir) if s.vector_cache_dir else None,
    }
    job_id = ws.jobs.start("build", spec)
    return job_card(request, ws.jobs.state(job_id))


@router.get("/jobs/{job_id}")
def job(request: Request, job_id: str) -> HTMLResponse:
    """One job's card (htmx polls it while the job is active)."""
    try:
        return job_card(request, workspace(request).jobs.state(job_id))
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc), status_code=404)


@router.post("/jobs/{job_id}/cancel")
def cancel(request: Request, job_id: str) -> HTMLResponse:
    """Cancel a job; what it wrote so far stays."""
    try:
        return job_card(request, workspace(request).jobs.cancel(job_id))
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc), status_code=404)
