"""Liveness and readiness (no key needed: load balancers call these)."""

from __future__ import annotations

from fastapi import APIRouter

from byod.serve.deps import HolderDep
from byod.serve.responses import FastJSON

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(holder: HolderDep) -> FastJSON:
    """200 with the versions and hashes served once a deployment is loaded, else 503."""
    dep = holder.current
    if dep is None:
        return FastJSON({"status": "loading", "last_error": holder.last_error}, status_code=503)
    m = dep.manifest
    return FastJSON(
        {
            "status": "ready",
            "table_version": dep.version,
            "deployment": str(dep.path),
            "deployment_hash": dep.digest,
            "encoder_hash": (m.get("encoder") or {}).get("hash"),  # None: text-only
            "backbones": {n: b["fingerprint"] for n, b in m["backbones"].items()},
            "heads": sorted(m["heads"]),
            "last_reload_error": holder.last_error,
        }
    )
