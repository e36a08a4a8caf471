"""The ``--backend ray`` branches of ``byod embed`` and ``byod pretrain``: check, call, print.

Kept here so the commands themselves only gain an option and a two-line branch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from byod.cli._common import byod_home, console
from byod.errors import ByodError

__all__ = ["embed_with_ray", "pretrain_with_ray"]


def embed_with_ray(
    model: Path,
    out: Path,
    histories: Path | None,
    events: Path | None,
    blocks: str | None,
    blocks_from: Path | None,
    vector_cache_dir: Path | None,
    workers: int,
) -> None:
    """``byod embed --backend ray``: the learned block, from histories or raw events."""
    from byod.distributed.ray_embed import embed_ray

    if blocks not in (None, "learned") or blocks_from is not None:
        raise ByodError(
            "--backend ray writes the learned block only; drop --blocks / --blocks-from "
            "(or add the other blocks with --backend polars)"
        )
    if histories is not None and events is not None:
        raise ByodError("--backend ray embeds from --histories or --events, not both")
    table = embed_ray(
        model,
        histories or events,
        out,
        kind="histories" if histories is not None else "events",
        vector_cache_dir=vector_cache_dir or byod_home() / "text-vectors",
        models_dir=byod_home() / "models",
        workers=workers,
    )
    console.print(
        f"wrote {table.features.height:,} users (learned {table.metadata['dim']}) to "
        f"{table.path} (ray, {workers} worker(s))"
    )


def pretrain_with_ray(
    histories: Any,
    out: Path,
    config: Any,
    backbone: Any,
    vector_cache_dir: Path,
    resume: bool,
    rendering: dict | None,
    workers: int,
    flat: bool,
    baseline: str | None,
) -> None:
    """``byod pretrain --backend ray``: the sequence encoder on Ray Train workers."""
    from byod.distributed.ray_train import pretrain_ray

    if flat or baseline:
        raise ByodError("--backend ray trains the sequence encoder; drop --flat / --baseline")
    from byod.pretrain.base import Objective
    from byod.pretrain.objectives import OBJECTIVE_CLASSES, parse_objective_spec

    causal = [
        n
        for n, _ in parse_objective_spec(config.objective)
        if OBJECTIVE_CLASSES[n].backward is not Objective.backward
    ]
    if causal:  # their windows are not split across workers yet (see distributed.gather)
        raise ByodError(f"--backend ray trains pair objectives only; {causal} train in one process")
    b = config.train.batch_size
    console.print(
        f"pretraining {config.objective} on {workers} Ray workers x {b} users "
        f"(global batch {workers * b}, {workers * b - 1} negatives per anchor)"
    )
    encoder, run = pretrain_ray(
        histories, out, config, workers=workers, backbone=backbone,
        vector_cache_dir=vector_cache_dir, resume=resume, rendering=rendering,
    )  # fmt: skip
    console.print(
        f"done: {run.epochs} epochs, {run.global_step} steps, {run.samples_per_s:,.0f} users/s, "
        f"{run.restarts} restart(s); model in {out} (dim {encoder.dim})"
    )
