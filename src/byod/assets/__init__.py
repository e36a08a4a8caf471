"""Packaged model assets: text backbones built from pip packages, never fetched from a hub.

>>> from byod.assets import load_backbone, backbone_prompt  # doctest: +SKIP
>>> model = load_backbone("e5-small")  # built once into ~/.cache/byod/models/e5-small
>>> model.encode([backbone_prompt("e5-small") + "무선 헤드폰"]).shape
(1, 384)
"""

from byod.assets.installer import default_models_dir, get_spec, install, installed_path
from byod.assets.load import backbone_fingerprint, backbone_folder, backbone_prompt, load_backbone
from byod.assets.manifest import read_manifest, verify
from byod.assets.registry import BACKBONES, BackboneSpec

__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "backbone_fingerprint",
    "backbone_folder",
    "backbone_prompt",
    "default_models_dir",
    "get_spec",
    "install",
    "installed_path",
    "load_backbone",
    "read_manifest",
    "verify",
]
