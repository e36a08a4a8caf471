"""What is deployed, the hot reload (admin key) and the Prometheus metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from byod.errors import ByodError
from byod.serve.deps import DeploymentDep, HolderDep
from byod.serve.responses import FastJSON
from byod.serve.schemas import ReloadIn
from byod.serve.security import require_admin, require_read

router = APIRouter(tags=["deployment"])


@router.get("/v1/deployment", dependencies=[Depends(require_read)])
def deployment(dep: DeploymentDep) -> FastJSON:
    """The manifest served: versions, backbones, heads with their cards' metrics, file hashes."""
    return FastJSON({"path": str(dep.path), "hash": dep.digest, **dep.manifest})


@router.post("/v1/admin/reload", dependencies=[Depends(require_admin)])
async def reload(request: Request, holder: HolderDep, body: ReloadIn | None = None) -> FastJSON:
    """Load a deployment beside the current one, validate it, switch; 409 keeps the old one."""
    path = Path(body.path) if body and body.path else None
    old = holder.current.version if holder.current else None
    try:
        # Loading takes seconds: a worker thread, so the event loop keeps answering requests.
        new = await run_in_threadpool(holder.reload, path)
    except ByodError as exc:
        raise HTTPException(409, str(exc)) from None
    request.scope["byod.version"] = new.version
    return FastJSON(
        {"status": "reloaded", "previous_version": old, "version": new.version,
         "deployment": str(new.path), "hash": new.digest}
    )  # fmt: skip


@router.get("/metrics", dependencies=[Depends(require_read)])
def metrics(request: Request) -> Response:
    """Prometheus metrics (request counts and latencies by route)."""
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
