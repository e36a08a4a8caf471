"""The deployment being served, and its hot swap.

A reload builds and validates the new :class:`Deployment` beside the old one (requests keep
being answered by the old one meanwhile), then replaces one reference: a request that already
holds the old deployment finishes on it, every later request gets the new one. If the load
fails, the old deployment stays and the failure is kept for ``/readyz`` and the reload reply.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from byod.errors import ByodError
from byod.serve.deployment import Deployment

__all__ = ["Holder"]

Loader = Callable[[Path], Deployment]


class Holder:
    """Holds the current deployment; ``reload`` swaps it atomically."""

    def __init__(self, loader: Loader, path: Path) -> None:
        self._loader = loader
        self._lock = threading.Lock()  # one reload at a time; reads never take it
        self.path = Path(path)
        self.current: Deployment | None = None
        self.last_error: str | None = None
        self.loaded_at: float | None = None
        self.reloads = 0

    def get(self) -> Deployment:
        """The deployment serving now (raises if none is loaded yet)."""
        dep = self.current
        if dep is None:
            raise ByodError("no deployment is loaded yet")
        return dep

    def reload(self, path: Path | None = None) -> Deployment:
        """Load ``path`` (default: the current one) beside the old deployment, then switch.

        Raises:
            ByodError: the new deployment failed validation; the old one keeps serving.
        """
        target = Path(path) if path is not None else self.path
        with self._lock:
            try:
                new = self._loader(target)
            except ByodError as exc:
                self.last_error = f"{target}: {exc}"
                raise ByodError(
                    f"reload of {target} failed, still serving the old one: {exc}"
                ) from None
            old, self.current = self.current, new  # the switch: one reference assignment
            self.path, self.last_error, self.loaded_at = target, None, time.time()
            self.reloads += 1
        # The old deployment is not closed here: in-flight requests may still hold it; its
        # memory maps and connections go with the last reference.
        del old
        return new
