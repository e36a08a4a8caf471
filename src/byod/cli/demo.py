"""``byod demo``: the main job on built-in data, end to end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from byod.cli._common import console, user_errors
from byod.cli.data import print_ingest_summary
from byod.cli.run import run_and_print


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
    """The whole chain on MovieLens: logs → ingest → next-item model → features → heads → report."""
    from byod.demo import prepare_demo
    from byod.demo import profile as demo_profile
    from byod.pipeline import RunLayout

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
    run_and_print(chosen.pipeline, out)
    console.print(f"done in {time.perf_counter() - t0:.0f} s; outputs under {out}")
