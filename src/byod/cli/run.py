"""``byod run CONFIG.yaml``: the pipeline from a config file, on tables already ingested."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from byod.cli._common import byod_home, console, user_errors

if TYPE_CHECKING:
    from byod.pipeline import PipelineConfig, PipelineResult


def run_and_print(config: PipelineConfig, out: Path) -> PipelineResult:
    """Run the pipeline into ``out`` with byod's home caches; print its lines and the summary."""
    from byod.pipeline import RunLayout, run_pipeline
    from byod.report import summary_markdown

    home = byod_home()
    result = run_pipeline(
        config,
        RunLayout(out),
        say=console.print,
        progress=True,
        vector_cache_dir=home / "text-vectors",
        models_dir=home / "models",
    )
    console.rule("summary")
    console.print(summary_markdown(out), markup=False, highlight=False, soft_wrap=True)
    if result.report is not None:
        console.print(f"report: {result.report}")
    return result


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
    from byod.pipeline import load_pipeline_config

    result = run_and_print(load_pipeline_config(config), out)
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in result.timings.items())
    console.print(f"done ({steps}); outputs under {out}")
