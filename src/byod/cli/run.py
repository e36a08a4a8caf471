"""``byod run CONFIG.yaml``: the pipeline from a config file, on tables already ingested."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from byod.cli._common import byod_home, console, user_errors


@user_errors
def run_command(
    config: Annotated[Path, typer.Argument(help="Pipeline YAML (see byod.pipeline.config).")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Run directory; inputs default to its ingested/ tables (RunLayout)."
        ),
    ],
) -> None:
    """Histories → encoders → feature tables → heads → results → report, from one config."""
    from byod.pipeline import RunLayout, load_pipeline_config, run_pipeline
    from byod.report import summary_markdown

    cfg = load_pipeline_config(config)
    home = byod_home()
    result = run_pipeline(
        cfg,
        RunLayout(out),
        say=console.print,
        progress=True,
        vector_cache_dir=home / "text-vectors",
        models_dir=home / "models",
    )
    console.rule("summary")
    console.print(summary_markdown(out), markup=False, highlight=False, soft_wrap=True)
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in result.timings.items())
    console.print(f"done ({steps}); outputs under {out}")
