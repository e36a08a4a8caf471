"""FastAPI dependencies of the routers (tests override them: ``app.dependency_overrides``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from byod.serve.deployment import Deployment
from byod.serve.settings import ServeSettings
from byod.serve.state import Holder

__all__ = [
    "get_settings",
    "get_holder",
    "get_deployment",
    "DeploymentDep",
    "SettingsDep",
    "HolderDep",
]


async def get_settings(request: Request) -> ServeSettings:
    """The app's settings."""
    return request.app.state.settings


async def get_holder(request: Request) -> Holder:
    """The deployment holder (current deployment, reload)."""
    return request.app.state.holder


async def get_deployment(request: Request) -> Deployment:
    """The deployment answering this request; its version goes into the response header.

    Taken once per request, so a hot swap mid-request never mixes two versions. The
    dependencies are ``async``: they do no blocking work, and a sync dependency would cost a
    thread-pool hop per request.
    """
    dep = request.app.state.holder.current
    if dep is None:
        raise HTTPException(503, "no deployment is loaded yet; retry when /readyz answers 200")
    request.scope["byod.version"] = dep.version
    request.scope["byod.deployment"] = dep.digest
    return dep


DeploymentDep = Annotated[Deployment, Depends(get_deployment)]
SettingsDep = Annotated[ServeSettings, Depends(get_settings)]
HolderDep = Annotated[Holder, Depends(get_holder)]
