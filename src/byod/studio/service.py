"""Deploy: the `byod serve` app over the promoted deployment, mounted under ``/serve``.

The first promote creates the service (:func:`byod.serve.create_app`) and loads the deployment;
every later promote is the service's own hot swap (:meth:`byod.serve.state.Holder.reload`: the
new deployment is loaded and validated beside the old one, which keeps answering until the
switch, and stays if the new one fails). API keys live in a file of hashes that the service
reads; a key is shown once, when it is made.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from byod.atomic import write_json, write_text
from byod.errors import ConfigError
from byod.serve import ServeSettings, create_app
from byod.serve.security import SCOPES, KeyRing, hash_key, new_key

__all__ = ["ServiceSlot", "KeyStore", "PREFIX"]

PREFIX = "/serve"


class KeyStore:
    """Named API keys (hashes only) in ``keys.json``, and the ``scope:hash`` file serve reads."""

    def __init__(self, folder: Path) -> None:
        self.meta = folder / "keys.json"
        self.file = folder / "keys.txt"
        if not self.file.exists():
            self._save([])

    def list(self) -> list[dict[str, Any]]:
        """Every key's name, scope, creation time and hash prefix."""
        return json.loads(self.meta.read_text(encoding="utf-8")) if self.meta.exists() else []

    def _save(self, keys: list[dict[str, Any]]) -> None:
        write_json(keys, self.meta)
        write_text("".join(f"{k['scope']}:{k['sha256']}\n" for k in keys), self.file)

    def create(self, name: str, scope: str) -> str:
        """Make a key; the key itself is returned once and never stored."""
        if scope not in SCOPES:
            raise ConfigError(f"scope must be one of {list(SCOPES)}, got {scope!r}")
        name = name.strip() or f"{scope}-key"
        key = new_key()
        keys = self.list()
        keys.append(
            {
                "name": name,
                "scope": scope,
                "sha256": hash_key(key),
                "created_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
        self._save(keys)
        return key

    def revoke(self, sha256: str) -> None:
        """Remove the key with this hash."""
        self._save([k for k in self.list() if k["sha256"] != sha256])

    def ring(self) -> KeyRing:
        """The keys as the service checks them."""
        return KeyRing.from_settings("", self.file)


class ServiceSlot:
    """An ASGI app under ``/serve``: the live service, or a 503 until something is promoted."""

    def __init__(self, keys: KeyStore, state_file: Path, models_dir: Path | None) -> None:
        self.keys, self.state_file, self.models_dir = keys, state_file, models_dir
        self.app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI: pass the request to the live service (no lifespan: the studio loads it)."""
        if scope["type"] == "lifespan":
            return
        if self.app is None:
            reply = JSONResponse(
                {"detail": "nothing is deployed yet; promote one in the studio"}, status_code=503
            )
            await reply(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @property
    def current(self) -> dict[str, Any] | None:
        """What is served: deployment path, table version, heads; None before any promote."""
        if self.app is None or self.app.state.holder.current is None:
            return None
        dep = self.app.state.holder.current
        return {
            "path": str(dep.path),
            "version": dep.version,
            "hash": dep.digest,
            "heads": dep.manifest.get("heads", {}),
            "reloads": self.app.state.holder.reloads,
        }

    async def promote(self, path: Path) -> dict[str, Any]:
        """Serve ``path``: build the service the first time, hot-swap to it afterwards."""
        if self.app is None:
            settings = ServeSettings(
                deployment=path, api_keys_file=self.keys.file, models_dir=self.models_dir
            )
            app = create_app(settings)
            await run_in_threadpool(app.state.holder.reload)  # mounted: no lifespan of its own
            self.app = app
        else:
            await run_in_threadpool(self.app.state.holder.reload, path)
        write_json({"deployment": str(path)}, self.state_file)
        return self.current or {}

    def reload_keys(self) -> None:
        """Make the running service check the current key file."""
        if self.app is not None:
            self.app.state.keys = self.keys.ring()

    async def restore(self) -> None:
        """Serve again what was promoted before the studio restarted (if it still loads)."""
        if self.app is None and self.state_file.exists():
            path = Path(json.loads(self.state_file.read_text(encoding="utf-8"))["deployment"])
            if path.is_dir():
                await self.promote(path)
