"""``create_app(settings)``: the FastAPI service over one deployment.

Models load in the lifespan handler (nothing at import); CPU-bound endpoints are plain ``def``,
so FastAPI runs them in its thread pool and the event loop keeps accepting requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool

from byod import __version__
from byod.encoders.backbone import TextBackbone
from byod.serve.deployment import Deployment, load_deployment
from byod.serve.errors import install_error_handlers
from byod.serve.middleware import BodyLimit, Observe, make_metrics
from byod.serve.routers import admin, heads, health, recommend, text, users
from byod.serve.security import KeyRing
from byod.serve.settings import ServeSettings
from byod.serve.state import Holder
from byod.serve.store import RedisStore

__all__ = ["create_app", "default_loader"]

Loader = Callable[[Path], Deployment]


def _redis_factory(settings: ServeSettings):  # noqa: ANN202
    def factory(user_ids, vectors, version):  # noqa: ANN001, ANN202
        store = RedisStore.connect(
            settings.redis_url, version, int(vectors.shape[1]), settings.redis_prefix
        )
        if not store.is_loaded(len(user_ids)):
            store.load(user_ids, vectors)
        return store

    return factory


def default_loader(
    settings: ServeSettings, open_backbone: Callable[[str], TextBackbone] | None = None
) -> Loader:
    """Deployment loader from the settings: packaged backbones (cached by name), the store."""
    from byod.encoders.backbone import open_backbone as open_packaged

    opened: dict[str, TextBackbone] = {}

    def opener(name: str) -> TextBackbone:
        if name not in opened:  # a reload of the same backbone reuses the loaded model
            opened[name] = (open_backbone or _packaged(open_packaged, settings))(name)
        return opened[name]

    factory = _redis_factory(settings) if settings.store == "redis" else None

    def load(path: Path) -> Deployment:
        return load_deployment(
            path, open_backbone=opener, store_factory=factory, verify_hashes=settings.verify_hashes
        )

    return load


def _packaged(open_packaged, settings: ServeSettings):  # noqa: ANN001, ANN202
    if settings.onnx_dir is None:
        return lambda name: open_packaged(name, models_dir=settings.models_dir)
    return _onnx_or_packaged(open_packaged, settings)


def _onnx_or_packaged(open_packaged, settings: ServeSettings):  # noqa: ANN001, ANN202
    """The ONNX export for the backbone it was made from; PyTorch for any other backbone."""
    from byod.assets import backbone_fingerprint
    from byod.encoders.onnx_backbone import OnnxBackbone
    from byod.encoders.onnx_export import read_onnx_manifest

    source = read_onnx_manifest(settings.onnx_dir)["source_fingerprint"]

    def opener(name: str) -> TextBackbone:
        if backbone_fingerprint(name, models_dir=settings.models_dir) == source:
            return OnnxBackbone(settings.onnx_dir, variant=settings.onnx_variant)
        return open_packaged(name, models_dir=settings.models_dir)

    return opener


def create_app(settings: ServeSettings, *, loader: Loader | None = None) -> FastAPI:
    """The service for ``settings.deployment``; ``loader`` replaces how deployments load."""
    holder = Holder(loader or default_loader(settings), settings.deployment)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if holder.current is None:  # `byod serve` loads (and validates) before it starts
            await run_in_threadpool(holder.reload)  # a ByodError here stops the start
        yield
        if holder.current is not None:
            holder.current.close()

    app = FastAPI(
        title="byod serve",
        version=__version__,
        description="User features, new-user embeddings, predictions and recommendations.",
        lifespan=lifespan,
    )
    registry = CollectorRegistry()
    app.state.settings = settings
    app.state.holder = holder
    app.state.keys = KeyRing.from_settings(settings.api_keys, settings.api_keys_file)
    app.state.registry = registry
    for router in (health.router, users.router, heads.router, recommend.router, text.router,
                   admin.router):  # fmt: skip
        app.include_router(router)
    install_error_handlers(app)
    if settings.cors_origins:  # off unless origins are named
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["X-API-Key"])  # fmt: skip
    # The last added runs first: Observe sees every response, the 413s of BodyLimit too.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(Observe, holder=holder, metrics=make_metrics(registry))
    return app
