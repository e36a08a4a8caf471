"""Starting (or joining) a Ray cluster, lazily, with errors a user can act on."""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

from byod.errors import ByodError, ConfigError

__all__ = ["BACKENDS", "check_backend", "require_ray", "ensure_cluster", "check_cpus"]

BACKENDS = ("polars", "ray")


def check_backend(backend: str) -> str:
    """Return ``backend`` when it is known; raise :class:`ConfigError` listing the choices."""
    if backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {list(BACKENDS)}, got {backend!r}")
    return backend


def require_ray() -> ModuleType:
    """Import Ray, or explain how to install it (the optional extra ``byod[ray]``)."""
    try:
        import ray
    except ImportError as exc:
        raise ByodError(
            "--backend ray needs Ray: pip install 'byod[ray]' (Ray Data + Ray Train)"
        ) from exc
    return ray


def ensure_cluster(num_cpus: int | None = None) -> ModuleType:
    """Join the running Ray cluster, or start a local one (``RAY_ADDRESS`` picks a remote one).

    Args:
        num_cpus: CPUs of a local cluster started here (None: all of this machine's).
    """
    ray = require_ray()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if not os.environ.get("RAY_ADDRESS"):
            kwargs["num_cpus"] = num_cpus
        ray.init(**kwargs)
    return ray


def check_cpus(needed: float, what: str) -> None:
    """Fail at once (instead of waiting forever) when the cluster cannot ever hold ``needed`` CPUs.

    Raises:
        ByodError: the cluster has fewer CPUs in total than ``needed``.
    """
    ray = require_ray()
    total = float(ray.cluster_resources().get("CPU", 0.0))
    if needed > total:
        raise ByodError(
            f"{what} needs {needed:g} CPUs but the Ray cluster has {total:g}; "
            "lower --workers or add nodes to the cluster"
        )
