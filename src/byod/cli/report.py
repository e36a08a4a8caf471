"""``byod report``: one readable page (HTML and Markdown) from a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import rich.markup
import typer

from byod.cli._common import console, user_errors
from byod.errors import ByodError


@user_errors
def report_command(
    run_dir: Annotated[
        Path, typer.Argument(help="Run directory (transfer/, features/, models/, ...).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder for index.html and report.md [default: RUN_DIR/report]."
        ),
    ] = None,
    clusters: Annotated[int, typer.Option(help="Number of k-means clusters of users.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the map sample, t-SNE and k-means.")] = 0,
    tuning: Annotated[
        list[Path] | None,
        typer.Option(
            "--tuning",
            exists=True,
            file_okay=False,
            help="A `byod tune` study folder to show (repeatable; RUN_DIR/tuning/* always are).",
        ),
    ] = None,
) -> None:
    """Write RUN_DIR/report/index.html (self-contained) and report.md with its PNG figures."""
    from byod.report import build_report  # sklearn + matplotlib: import late

    if clusters < 1:
        raise ByodError(f"--clusters must be at least 1, got {clusters}")
    with console.status(f"building the report of {rich.markup.escape(str(run_dir))}"):
        paths = build_report(
            run_dir, out_dir=out, seed=seed, n_clusters=clusters, tuning=tuple(tuning or ())
        )
    for line in paths.missing:
        console.print(
            f"[yellow]missing:[/] {rich.markup.escape(line)}", highlight=False, soft_wrap=True
        )
    console.print(
        f"HTML:     {rich.markup.escape(str(paths.html))}", highlight=False, soft_wrap=True
    )
    console.print(
        f"Markdown: {rich.markup.escape(str(paths.markdown))}", highlight=False, soft_wrap=True
    )
