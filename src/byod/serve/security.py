"""API keys: kept only as sha256 hashes, sent in ``X-API-Key``, with a read and an admin scope.

The admin scope includes read. Keys are compared by hash in constant time, so neither the
settings nor a key file ever hold a usable key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from byod.errors import ConfigError

__all__ = ["SCOPES", "KeyRing", "hash_key", "new_key", "require_read", "require_admin"]

SCOPES = ("read", "admin")
HEADER = "X-API-Key"
_header = APIKeyHeader(name=HEADER, auto_error=False, description="A read or admin API key.")


def hash_key(key: str) -> str:
    """Hex sha256 of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random key (256 bits, URL-safe)."""
    return "byod_" + secrets.token_urlsafe(32)


class KeyRing:
    """Hashed keys by scope, from ``scope:sha256hex`` entries."""

    def __init__(self, entries: list[str]) -> None:
        self._hashes: list[tuple[str, str]] = []
        for entry in entries:
            scope, _, digest = entry.strip().partition(":")
            if scope not in SCOPES or len(digest) != 64:
                raise ConfigError(
                    f"API key entry {entry[:20]!r}...: expected 'read:<sha256 hex>' or "
                    "'admin:<sha256 hex>' (make one with `byod serve keygen`)"
                )
            self._hashes.append((scope, digest.lower()))

    @classmethod
    def from_settings(cls, keys: str, file: Path | None) -> KeyRing:
        """Entries from a comma-separated string and/or a file (one per line, ``#`` comments)."""
        entries = [e for e in keys.split(",") if e.strip()]
        if file is not None:
            if not file.exists():
                raise ConfigError(f"API key file {file} not found")
            lines = file.read_text(encoding="utf-8").splitlines()
            entries += [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
        return cls(entries)

    @property
    def empty(self) -> bool:
        """No key configured."""
        return not self._hashes

    def has(self, scope: str) -> bool:
        """Whether any key of ``scope`` is configured."""
        return any(s == scope for s, _ in self._hashes)

    def scope_of(self, key: str) -> str | None:
        """The key's scope, or None; every stored hash is compared (constant time each)."""
        digest = hash_key(key)
        found = None
        for scope, stored in self._hashes:
            if hmac.compare_digest(stored, digest):
                found = scope
        return found


def _check(request: Request, key: str | None, scope: str) -> None:
    ring: KeyRing = request.app.state.keys
    if ring.empty and scope == "read":
        return  # no keys: read endpoints are open (the server binds to loopback only)
    if ring.empty or (scope == "admin" and not ring.has("admin")):
        raise HTTPException(
            403, f"no {scope} API key is configured; start the server with one (byod serve keygen)"
        )
    if not key:
        raise HTTPException(401, f"missing {HEADER} header; send a {scope} API key")
    got = ring.scope_of(key)
    if got is None:
        raise HTTPException(401, f"the {HEADER} key is not valid")
    if scope == "admin" and got != "admin":
        raise HTTPException(403, "this key has the read scope; the endpoint needs an admin key")


async def require_read(request: Request, key: str | None = Security(_header)) -> None:
    """Dependency: a read (or admin) key, unless no key is configured."""
    _check(request, key, "read")


async def require_admin(request: Request, key: str | None = Security(_header)) -> None:
    """Dependency: an admin key."""
    _check(request, key, "admin")
