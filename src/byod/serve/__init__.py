"""``byod serve``: the HTTP service over a deployment (feature table, encoder, items, heads)."""

from byod.serve.app import create_app
from byod.serve.build import DeploySpec, build_deployment
from byod.serve.deployment import Deployment, load_deployment
from byod.serve.settings import ServeSettings

__all__ = [
    "create_app",
    "ServeSettings",
    "DeploySpec",
    "build_deployment",
    "Deployment",
    "load_deployment",
]
