"""Errors a user can act on.

Everything raised as a :class:`ByodError` is shown by the CLI as one line (no traceback) and exits
with code 2. The message names the file / key / column, what arrived, what was expected, and how to
fix it.
"""

from collections.abc import Iterable
from typing import Any

__all__ = ["ByodError", "ConfigError", "InputFileError", "check_keys", "check_fitted"]


class ByodError(Exception):
    """A problem with the user's input or configuration (not a bug in byod)."""


class ConfigError(ByodError):
    """The configuration is invalid: unknown key, wrong type, missing column, ..."""


class InputFileError(ByodError):
    """A whole input file cannot be used: missing, empty, wrong format, undecodable."""


def check_keys(raw: dict[str, Any], valid: Iterable[str], where: str) -> None:
    """Raise :class:`ConfigError` naming the unknown keys of ``raw`` and the valid ones.

    Args:
        raw: a mapping read from YAML or JSON.
        valid: the keys it may hold, e.g. ``[f.name for f in dataclasses.fields(cls)]``.
        where: the section, for the message (``"ingest.yaml: sources[0]"``).
    """
    valid = list(valid)
    unknown = sorted(set(raw) - set(valid))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys are {valid}")


def check_fitted(model: object, attribute: str) -> None:
    """Raise sklearn's ``NotFittedError`` unless ``model`` has ``attribute`` (set by ``fit``).

    The one not-fitted path for byod's models that are not sklearn estimators (torch heads,
    HyperMatch, checkers); the sklearn-based heads use ``check_is_fitted``, which raises the same.
    """
    if not hasattr(model, attribute):
        from sklearn.exceptions import NotFittedError  # sklearn only when the error is raised

        raise NotFittedError(f"this {type(model).__name__} is not fitted yet; call fit() first")
