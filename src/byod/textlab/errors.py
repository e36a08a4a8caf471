"""Mistakes a user of :mod:`byod.textlab` can make, as :class:`~byod.errors.ByodError` subclasses.

The CLI shows any of them as one line and exits with code 2. They also derive from
:class:`ValueError`, so library callers that caught ``ValueError`` keep working.
"""

from __future__ import annotations

from byod.errors import ByodError

__all__ = ["TextlabError", "LabelSetError", "ShapeError", "TaskNotFoundError"]


class TextlabError(ByodError, ValueError):
    """A textlab input the user can fix (wrong labels, shapes, options)."""


class LabelSetError(TextlabError):
    """Labels that are not in the task's label set, or too few labelled examples."""


class ShapeError(TextlabError):
    """Arrays passed to a textlab function do not line up (library callers)."""


class TaskNotFoundError(TextlabError):
    """No ``--task`` was given and no task file lies next to the data."""
