"""Classification heads on user vectors."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from byod.serve import service
from byod.serve.deps import DeploymentDep
from byod.serve.responses import FastJSON
from byod.serve.schemas import UserOrEvents
from byod.serve.security import require_read

router = APIRouter(prefix="/v1/heads", tags=["heads"], dependencies=[Depends(require_read)])


@router.post("/{name}/predict")
def predict(name: str, body: UserOrEvents, dep: DeploymentDep) -> FastJSON:
    """Class probabilities of head ``name`` for a known user or a new user's raw events."""
    if name not in dep.classify:  # before embedding events: a typo should not cost a forward
        raise service.NotFound(
            f"no classification head {name!r}; deployed heads: {sorted(dep.classify)}"
        )
    vector, source = service.user_vector(dep, body.user_id, body.events)
    proba = service.predict(dep, name, vector)
    return FastJSON(
        {
            "head": name,
            "version": dep.version,
            "user_source": source,
            "label": max(proba, key=proba.get),
            "probabilities": proba,
        }
    )
