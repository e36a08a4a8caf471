"""User vectors: from the feature table, in batches, or embedded from a new user's raw events."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from byod.serve import service
from byod.serve.deps import DeploymentDep, SettingsDep
from byod.serve.responses import FastJSON
from byod.serve.schemas import BatchIn, EventsIn
from byod.serve.security import require_read

router = APIRouter(prefix="/v1/users", tags=["users"], dependencies=[Depends(require_read)])


@router.get("/{user_id}/embedding")
def embedding(user_id: str, dep: DeploymentDep) -> FastJSON:
    """The user's vector from the feature table (404 for a user the table does not have)."""
    vector, _ = service.user_vector(dep, user_id, None)
    return FastJSON({"user_id": user_id, "version": dep.version, "vector": vector})


@router.post("/embeddings:batch")
def embeddings_batch(
    body: BatchIn,
    dep: DeploymentDep,
    settings: SettingsDep,
) -> FastJSON:
    """Vectors of many users in one call; unknown ids are listed in ``missing``."""
    if len(body.user_ids) > settings.max_batch:
        raise HTTPException(
            413,
            f"{len(body.user_ids):,} user ids is over the batch limit of {settings.max_batch:,}; "
            "split the request",
        )
    vectors, found = service.lookup(dep, body.user_ids)
    return FastJSON(
        {
            "version": dep.version,
            "vectors": {u: v for u, v, ok in zip(body.user_ids, vectors, found, strict=True) if ok},
            "missing": [u for u, ok in zip(body.user_ids, found, strict=True) if not ok],
        }
    )


@router.post("/embed")
def embed(body: EventsIn, dep: DeploymentDep) -> FastJSON:
    """A new user's vector from raw events (serialized and encoded as in training)."""
    vector = service.embed_events(dep, body.events)
    return FastJSON({"version": dep.version, "n_events": len(body.events), "vector": vector})
