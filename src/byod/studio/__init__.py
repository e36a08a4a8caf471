"""byod studio: the whole job (data → users → heads → service) in a web page.

Names load on first use, so a job worker (``python -m byod.studio.worker``) starts without
importing the web app.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_studio_app", "StudioSettings"]


def __getattr__(name: str) -> Any:
    if name == "create_studio_app":
        from byod.studio.app import create_studio_app

        return create_studio_app
    if name == "StudioSettings":
        from byod.studio.settings import StudioSettings

        return StudioSettings
    raise AttributeError(name)
