"""Errors a user can act on.

Everything raised as a :class:`ByodError` is shown by the CLI as one line (no traceback) and exits
with code 2. The message names the file / key / column, what arrived, what was expected, and how to
fix it.
"""

__all__ = ["ByodError", "ConfigError", "InputFileError"]


class ByodError(Exception):
    """A problem with the user's input or configuration (not a bug in byod)."""


class ConfigError(ByodError):
    """The configuration is invalid: unknown key, wrong type, missing column, ..."""


class InputFileError(ByodError):
    """A whole input file cannot be used: missing, empty, wrong format, undecodable."""
