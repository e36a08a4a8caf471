"""Shared CLI plumbing: user errors become one line on stderr and exit code 2."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import rich.markup
import typer
from rich.console import Console

from byod.errors import ByodError

__all__ = ["console", "err_console", "user_errors", "byod_home", "Encoding", "say"]

console = Console()
err_console = Console(stderr=True)
Encoding = Annotated[
    str,
    typer.Option(
        help="Text encoding of CSV / TSV / JSONL inputs: utf-8 (BOM accepted), cp949, euc-kr, "
        "latin-1, any Python codec, or auto (tries utf-8, cp949, latin-1 and says which).",
    ),
]
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


def say(line: str) -> None:
    """Print a note for the user on stderr (kept apart from a command's results on stdout)."""
    err_console.print(rich.markup.escape(line), highlight=False, soft_wrap=True)
