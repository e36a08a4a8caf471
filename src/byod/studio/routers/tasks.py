"""Step 3, solve tasks: a labels file (user id, label) → a classification head vs baselines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import HTMLResponse

from byod.errors import ByodError
from byod.studio.jobs import JobStore
from byod.studio.pages import render, workspace
from byod.studio.routers.jobs import job_card
from byod.tabular import read_table

router = APIRouter()


def built(jobs: JobStore) -> list[dict]:
    """Build jobs that finished (their feature tables can be used)."""
    return [j for j in jobs.list("build") if j.get("status") == "done"]


@router.get("/tasks")
def tasks_page(request: Request) -> HTMLResponse:
    """The tasks page: the feature tables, the labels form, the classify jobs."""
    ws = workspace(request)
    return render(request, "tasks.html", builds=built(ws.jobs), jobs=ws.jobs.list("classify"))


@router.post("/tasks/labels")
async def upload_labels(request: Request, file: Annotated[UploadFile, File()]) -> HTMLResponse:
    """Save a labels file and offer its columns."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(file.filename or "labels.csv").name)
    target = workspace(request).root / "labels" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(await file.read())
    try:
        columns = read_table(target).columns
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    task = Path(name).name.split(".")[0]
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
        state = ws.jobs.state(build)
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    if state.get("status") != "done":
        return render(request, "_error.html", error=f"build {build} has not finished")
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
