"""JSON responses through orjson, which writes NumPy arrays natively (no ``tolist`` copies)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

__all__ = ["FastJSON"]


class FastJSON(JSONResponse):
    """``JSONResponse`` rendered by orjson (NumPy arrays and non-string keys allowed)."""

    def render(self, content: Any) -> bytes:
        """Serialize ``content``."""
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
