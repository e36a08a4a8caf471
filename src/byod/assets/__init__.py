"""Packaged model assets: text backbones built from pip packages, never fetched from a hub."""

from byod.assets.install import (
    backbone_fingerprint,
    backbone_prompt,
    default_cache_dir,
    install,
    installed_path,
    load_backbone,
    verify,
)
from byod.assets.registry import BACKBONES, BackboneSpec

__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "backbone_fingerprint",
    "backbone_prompt",
    "default_cache_dir",
    "install",
    "installed_path",
    "load_backbone",
    "verify",
]
