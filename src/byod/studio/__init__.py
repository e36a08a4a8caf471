"""byod studio: the whole job (data → users → heads → service) in a web page."""

from byod.studio.app import create_studio_app
from byod.studio.settings import StudioSettings

__all__ = ["create_studio_app", "StudioSettings"]
