"""Shared CLI plumbing: user errors become one line on stderr and exit code 2."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import rich.markup
import typer
from rich.console import Console

from byod.errors import ByodError

__all__ = ["console", "err_console", "user_errors", "byod_home"]

console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")


def user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn :class:`ByodError` into ``error: <one line>`` and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ByodError as exc:
            message = rich.markup.escape(str(exc))  # paths like logs[old]/x.csv must survive
            err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None

    return wrapper


def byod_home() -> Path:
    """Return the cache root: ``$BYOD_HOME`` or ``~/.cache/byod`` (read in the CLI layer only)."""
    return Path(os.environ.get("BYOD_HOME") or Path.home() / ".cache" / "byod")
