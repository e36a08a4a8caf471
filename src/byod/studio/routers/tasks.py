"""Step 3, solve tasks: a labels file (user id, label) → a classification head vs baselines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from byod.errors import ByodError
from byod.studio.jobs import JobStore
from byod.studio.pages import render, save_upload, upload_name, workspace
from byod.studio.routers.jobs import job_card
from byod.studio.workspace import Workspace
from byod.tabular import read_table

router = APIRouter()


def built(jobs: JobStore) -> list[dict]:
    """Build jobs that finished (their feature tables can be used)."""
    return [j for j in jobs.list("build") if j.get("status") == "done"]


def finished_build(ws: Workspace, build: str) -> dict:
    """The state of build job ``build``; a ByodError when it is unknown or not finished."""
    state = ws.jobs.state(build)
    if state.get("status") != "done":
        raise ByodError(f"build {build} has not finished")
    return state


@router.get("/tasks")
def tasks_page(request: Request) -> HTMLResponse:
    """The tasks page: the feature tables, the labels form, the classify jobs."""
    ws = workspace(request)
    jobs = [j for j in ws.jobs.list() if j.get("kind") in ("classify", "recommend")]
    return render(request, "tasks.html", builds=built(ws.jobs), jobs=jobs)


@router.post("/tasks/recommend")
def recommend(request: Request, build: Annotated[str, Form()]) -> HTMLResponse:
    """Start a recommend job: next-item ranking on the build's users vs the baselines."""
    ws = workspace(request)
    try:
        state = finished_build(ws, build)
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    s = ws.settings
    spec = {
        "build": build,
        "model": state["outputs"]["model"],
        "features": state["outputs"]["features"],
        "events": ws.jobs.spec(build).get("events"),
        "models_dir": str(s.models_dir) if s.models_dir else None,
        "vector_cache_dir": str(s.vector_cache_dir) if s.vector_cache_dir else None,
    }
    return job_card(request, ws.jobs.state(ws.jobs.start("recommend", spec)))


@router.get("/tasks/map/{build}")
async def user_map_view(request: Request, build: str) -> HTMLResponse:
    """The build's users on a 2-D map (t-SNE, coloured by k-means), recent events on hover."""
    from byod.studio.usermap import user_map

    ws = workspace(request)
    try:
        state = ws.jobs.state(build)
        if state.get("status") != "done":
            raise ByodError(f"build {build} has not finished")
        events = ws.jobs.spec(build).get("events")
        folder = ws.jobs.folder(build)
        found = await run_in_threadpool(
            user_map,
            Path(state["outputs"]["features"]),
            Path(events) if events else None,
            folder / "out" / "map.json",
        )
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    return render(request, "_map.html", map=found, build=build)


@router.post("/tasks/labels")
async def upload_labels(request: Request, file: Annotated[UploadFile, File()]) -> HTMLResponse:
    """Save a labels file and offer its columns."""
    target = await save_upload(request, file, "labels", upload_name(file, "labels.csv"))
    try:
        columns = read_table(target).columns
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    task = target.name.split(".")[0]
    return render(request, "_labels.html", path=str(target), columns=columns, task=task)


@router.post("/tasks/train")
def train(
    request: Request,
    build: Annotated[str, Form()],
    labels: Annotated[str, Form()],
    user_column: Annotated[str, Form()],
    label_column: Annotated[str, Form()],
    task: Annotated[str, Form()],
) -> HTMLResponse:
    """Start a classify job: the head on the build's vectors and the baselines beside it."""
    ws = workspace(request)
    try:
        state = finished_build(ws, build)
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    task = re.sub(r"[^A-Za-z0-9_-]", "_", task.strip()) or "task"
    spec = {
        "build": build,
        "features": state["outputs"]["features"],
        "labels": labels,
        "user_column": user_column,
        "label_column": label_column,
        "task": task,
        "events": ws.jobs.spec(build).get("events"),
    }
    return job_card(request, ws.jobs.state(ws.jobs.start("classify", spec)))
