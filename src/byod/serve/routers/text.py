"""Text classifiers trained by ``byod text train``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from byod.serve import service
from byod.serve.deps import DeploymentDep
from byod.serve.responses import FastJSON
from byod.serve.schemas import TextsIn
from byod.serve.security import require_read

router = APIRouter(prefix="/v1/text", tags=["text"], dependencies=[Depends(require_read)])


@router.post("/{name}/classify")
def classify(name: str, body: TextsIn, dep: DeploymentDep) -> FastJSON:
    """Label and class probabilities for each text."""
    results = service.classify_texts(dep, name, body.texts)
    return FastJSON({"classifier": name, "version": dep.version, "results": results})
