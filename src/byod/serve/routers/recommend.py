"""Recommendations: ANN candidates from the item index, re-ranked by the recommendation head."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from byod.serve import service
from byod.serve.deps import DeploymentDep, SettingsDep
from byod.serve.responses import FastJSON
from byod.serve.schemas import RecommendIn
from byod.serve.security import require_read

router = APIRouter(prefix="/v1", tags=["recommend"], dependencies=[Depends(require_read)])


@router.post("/recommend")
def recommend(
    body: RecommendIn,
    dep: DeploymentDep,
    settings: SettingsDep,
) -> FastJSON:
    """Top-``k`` items for a known user or a new user's events, with per-stage timings (ms)."""
    out = service.recommend(
        dep,
        user_id=body.user_id,
        events=body.events,
        k=body.k,
        exclude_seen=body.exclude_seen,
        head_name=body.head,
        n_candidates=settings.n_candidates,
    )
    return FastJSON({"version": dep.version, **out})
