"""``byod demo``: the main job on built-in data, end to end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from byod.cli._common import byod_home, console, user_errors
from byod.cli.data import print_ingest_summary


@user_errors
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Directory for everything the demo writes.")
    ] = Path("runs/demo"),
    profile: Annotated[
        str, typer.Option(help="full (ML-1M, the real thing) or quick (ML-100K, a smoke run).")
    ] = "full",
    epochs: Annotated[int | None, typer.Option(min=1, help="Pretraining epochs.")] = None,
    data_only: Annotated[
        bool, typer.Option("--data-only", help="Stop after exporting and ingesting the logs.")
    ] = False,
) -> None:
    """The whole chain on MovieLens: logs → ingest → clue → features → heads → report."""
    from byod.demo import prepare_demo
    from byod.demo import profile as demo_profile
    from byod.pipeline import RunLayout, run_pipeline
    from byod.report import summary_markdown

    chosen = demo_profile(profile, epochs=epochs)
    layout = RunLayout(out)
    t0 = time.perf_counter()
    console.rule(f"byod demo on {chosen.dataset}")
    result = prepare_demo(chosen.dataset, layout)
    console.print(f"0. raw logs in {layout.raw}, ingested into {layout.ingested}")
    print_ingest_summary(result.summary)
    if data_only:
        console.print(f"done in {time.perf_counter() - t0:.1f} s; outputs under {out}")
        return
    home = byod_home()
    run = run_pipeline(
        chosen.pipeline,
        layout,
        say=console.print,
        progress=True,
        vector_cache_dir=home / "text-vectors",
        models_dir=home / "models",
    )
    console.rule("summary")
    console.print(summary_markdown(out), markup=False, highlight=False, soft_wrap=True)
    if run.report is not None:
        console.print(f"report: {run.report}")
    console.print(f"done in {time.perf_counter() - t0:.0f} s; outputs under {out}")
