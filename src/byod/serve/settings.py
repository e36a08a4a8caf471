"""Service settings (pydantic-settings): arguments, or ``BYOD_SERVE_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServeSettings", "LOOPBACK"]

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ServeSettings(BaseSettings):
    """How ``byod serve`` runs. Every field can be set as ``BYOD_SERVE_<NAME>``.

    API keys are given hashed (``scope:sha256hex``, comma-separated, in ``api_keys`` or one per
    line in ``api_keys_file``); make one with ``byod serve keygen``. With no key at all the read
    endpoints are open (loopback only) and the admin endpoints refuse every call.
    """

    model_config = SettingsConfigDict(env_prefix="BYOD_SERVE_", extra="forbid")

    deployment: Path = Field(description="Deployment folder written by `byod deploy`.")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    store: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "byod"
    api_keys: str = ""
    api_keys_file: Path | None = None
    max_body_bytes: int = Field(1 << 20, ge=1024)
    max_batch: int = Field(1000, ge=1, le=1000)
    n_candidates: int = Field(100, ge=1, le=10_000)
    cors_origins: list[str] = Field(default_factory=list)
    models_dir: Path | None = None
    # New users' event texts through ONNX Runtime instead of PyTorch (`byod models export-onnx`):
    # used for the deployment's backbone whose weights the export came from.
    onnx_dir: Path | None = None
    onnx_variant: Literal["auto", "fp32", "int8"] = "auto"
    verify_hashes: bool = True
