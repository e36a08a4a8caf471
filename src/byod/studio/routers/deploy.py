"""Step 4, deploy: build a deployment, promote it (hot swap), the endpoint, API keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse

from byod.errors import ByodError
from byod.serve.security import SCOPES
from byod.studio.jobs import JobStore
from byod.studio.pages import render, workspace
from byod.studio.routers.jobs import job_card
from byod.studio.routers.tasks import built
from byod.studio.service import PREFIX
from byod.studio.workspace import Workspace

router = APIRouter()


def curl_lines(
    request: Request, served: dict[str, Any] | None, keyed: bool, jobs: JobStore
) -> list[str]:
    """Ready ``curl`` lines for what is served (a first user of the table, each head)."""
    if served is None:
        return []
    base = str(request.base_url).rstrip("/") + PREFIX
    key = ' -H "X-API-Key: $BYOD_API_KEY"' if keyed else ""
    ids = Path(served["path"]) / "table" / "user_ids.parquet"
    user = pl.read_parquet(ids, n_rows=1)[0, 0] if ids.exists() else None  # None: text-only
    lines = [f"curl -s{key} {base}/v1/users/{user}/embedding"] if user is not None else []
    samples = {j.get("name"): j.get("sample") for j in reversed(jobs.list("text"))}
    for name, head in served["heads"].items():
        if head.get("kind") == "classify":
            lines.append(
                f'curl -s{key} --json \'{{"user_id": "{user}"}}\' {base}/v1/heads/{name}/predict'
            )
        if head.get("kind") == "recommend":
            lines.append(
                f'curl -s{key} --json \'{{"user_id": "{user}", "k": 5}}\' {base}/v1/recommend'
            )
        if head.get("kind") == "text":
            body = json.dumps({"texts": [samples.get(name) or "..."]}, ensure_ascii=False)
            body = body.replace("'", "'\\''")  # the line is pasted into a shell
            lines.append(f"curl -s{key} --json '{body}' {base}/v1/text/{name}/classify")
    return lines


def service_view(request: Request, **extra: Any) -> HTMLResponse:
    """The served deployment, its curl lines and the API keys."""
    ws = workspace(request)
    served = ws.service.current
    keys = ws.keys.list()
    return render(
        request,
        "_service.html",
        served=served,
        keys=keys,
        scopes=SCOPES,
        curls=curl_lines(request, served, bool(keys), ws.jobs),
        **extra,
    )


@router.get("/deploy")
def deploy_page(request: Request) -> HTMLResponse:
    """The deploy page."""
    ws = workspace(request)
    heads = [j for j in ws.jobs.list("classify") if j.get("status") == "done"]
    texts = [j for j in ws.jobs.list("text") if j.get("status") == "done"]
    return render(
        request,
        "deploy.html",
        builds=built(ws.jobs),
        heads=heads,
        texts=texts,
        jobs=ws.jobs.list("deploy"),
    )


@router.get("/deploy/service")
def service(request: Request) -> HTMLResponse:
    """The service panel."""
    return service_view(request)


def deploy_spec(
    ws: Workspace, build: str, head_ids: list[str], text_ids: list[str], next_item: bool = False
) -> dict:
    """A deploy job's spec: the build's model and table, the heads' labels, the text models.

    No ``build``: a text-only deployment (text classifiers alone, no user table).
    """
    texts = [ws.jobs.state(t) for t in text_ids]
    if any(t.get("status") != "done" for t in texts):
        raise ByodError("choose a finished text classifier")
    if not build:
        return _text_only_spec(ws, head_ids, texts, next_item)
    state = ws.jobs.state(build)
    heads = [ws.jobs.state(h) for h in head_ids]
    if state.get("status") != "done":
        raise ByodError("choose a finished build (step 2): a deployment serves its user table")
    labels = [pl.read_parquet(h["outputs"]["labels"]) for h in heads]
    spec: dict[str, Any] = {
        "model": state["outputs"]["model"],
        "features": state["outputs"]["features"],
        "tasks": sorted({str(lb["task"][0]) for lb in labels if lb.height}),
        "text": {t["name"]: t["outputs"]["classifier"] for t in texts},
        "next_item": next_item,
        "events": ws.jobs.spec(build).get("events"),
        "models_dir": str(ws.settings.models_dir or "") or None,
        "vector_cache_dir": str(ws.settings.vector_cache_dir or "") or None,
    }
    if labels:
        merged = pl.concat(labels).unique(["user_id", "task"], keep="last")
        folder = ws.root / "labels"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"deploy-{state['id']}-{'-'.join(spec['tasks'])}.parquet"
        merged.write_parquet(path)
        spec["labels"] = str(path)
    return spec


def _text_only_spec(
    ws: Workspace, head_ids: list[str], texts: list[dict[str, Any]], next_item: bool
) -> dict:
    """A deploy job's spec with text classifiers alone (heads on users need a build)."""
    if head_ids or next_item:
        raise ByodError("heads and next-item recommendation serve users: choose a build for them")
    if not texts:
        raise ByodError("choose a build (step 2) or at least one text classifier")
    return {
        "text": {t["name"]: t["outputs"]["classifier"] for t in texts},
        "models_dir": str(ws.settings.models_dir or "") or None,
        "vector_cache_dir": str(ws.settings.vector_cache_dir or "") or None,
    }


@router.post("/deploy/build")
async def build(request: Request) -> HTMLResponse:
    """Start a deploy job: the build's model and table, the chosen heads and text classifiers."""
    ws = workspace(request)
    form = await request.form()
    try:
        spec = deploy_spec(
            ws,
            str(form.get("build", "")),
            [str(h) for h in form.getlist("head")],
            [str(t) for t in form.getlist("text")],
            next_item=form.get("next_item") == "on",
        )
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    return job_card(request, ws.jobs.state(ws.jobs.start("deploy", spec)))


@router.post("/deploy/promote")
async def promote(request: Request, job: Annotated[str, Form()]) -> HTMLResponse:
    """Serve the job's deployment: the first time a new service, then a hot swap."""
    ws = workspace(request)
    try:
        state = ws.jobs.state(job)
        await ws.service.promote(Path(state["outputs"]["deployment"]))
    except (ByodError, KeyError) as exc:
        return service_view(request, error=f"promote failed, the old one keeps serving: {exc}")
    return service_view(request)


@router.post("/keys")
def create_key(
    request: Request, name: Annotated[str, Form()] = "", scope: Annotated[str, Form()] = "read"
) -> HTMLResponse:
    """Make an API key; it is shown once."""
    ws = workspace(request)
    try:
        key = ws.keys.create(name, scope)
    except ByodError as exc:
        return service_view(request, error=str(exc))
    ws.service.reload_keys()
    return service_view(request, new_key=key, new_scope=scope)


@router.post("/keys/revoke")
def revoke_key(request: Request, sha256: Annotated[str, Form()]) -> HTMLResponse:
    """Remove a key; the service stops accepting it at once."""
    ws = workspace(request)
    ws.keys.revoke(sha256)
    ws.service.reload_keys()
    return service_view(request)
