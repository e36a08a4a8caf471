"""``byod embed``: write the feature table (user -> vector, plus named blocks) with its index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from byod.cli._common import byod_home, console, user_errors
from byod.data.schema import read_table
from byod.distributed import check_backend
from byod.errors import ByodError


@user_errors
def embed_command(
    model: Annotated[Path, typer.Option("--model", help="Model folder (byod pretrain).")],
    out: Annotated[
        Path, typer.Option("--out", help="Feature-table folder; each run adds a version.")
    ],
    histories: Annotated[
        Path | None, typer.Option("--histories", help="Histories Parquet.")
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option(
            "--events",
            help="Raw events Parquet: new users embedded from them (alone), or the events the "
            "extra blocks are computed from (with --histories).",
        ),
    ] = None,
    blocks: Annotated[
        str | None,
        typer.Option(
            "--blocks",
            help="Comma-separated blocks: learned, zero-shot, svd, aggregates "
            "(default: all of them when --events is given, else learned).",
        ),
    ] = None,
    fit_events: Annotated[
        Path | None,
        typer.Option("--fit-events", help="Events the SVD block is fitted on (default: --events)."),
    ] = None,
    svd_dim: Annotated[int, typer.Option(min=1, help="Components of the svd block.")] = 128,
    blocks_from: Annotated[
        Path | None,
        typer.Option(
            "--blocks-from",
            help="Feature-table folder whose fitted block transforms to reuse (new users land "
            "in its space; its blocks and svd dim are taken).",
        ),
    ] = None,
    vector_cache_dir: Annotated[Path | None, typer.Option(help="Event-text vector cache.")] = None,
    device: Annotated[str, typer.Option(help="cpu | cuda.")] = "cpu",
    backend: Annotated[
        str, typer.Option(help="polars (one process) | ray (Ray Data, a pool of encoder actors).")
    ] = "polars",
    workers: Annotated[int, typer.Option(min=1, help="ray: encoder actors (1 CPU each).")] = 1,
) -> None:
    """Embed users from histories, or from raw events of users the model has never seen."""
    from byod.encoders.user import UserEncoder, model_hash  # torch: import late
    from byod.features.blocks import DEFAULT_BLOCKS, parse_blocks
    from byod.features.table import read_feature_table
    from byod.features.write import embed_to_table

    state: dict = {}
    if blocks_from is not None:
        earlier = read_feature_table(blocks_from)
        state = earlier.block_state()
        if not state:
            raise ByodError(f"{earlier.path}: no fitted blocks (blocks.npz) to reuse")
        blocks = blocks or ",".join(earlier.layout.names)
        svd_dim = next((b.dim for b in earlier.layout.blocks if b.name == "svd"), svd_dim)
    if histories is None and events is None:
        raise ByodError("give --histories or --events (or both: blocks from the events)")
    if check_backend(backend) == "ray":
        from byod.cli.ray_backend import embed_with_ray

        embed_with_ray(
            model, out, histories, events, blocks, blocks_from, vector_cache_dir, workers
        )
        return
    names = parse_blocks(blocks) or (list(DEFAULT_BLOCKS) if events is not None else ["learned"])
    if "learned" not in names:
        raise ByodError("--blocks must include 'learned' (the model's vector is the table's index)")
    if events is None and names != ["learned"]:
        raise ByodError(f"blocks {[n for n in names if n != 'learned']} need --events")
    names = ["learned", *(n for n in names if n != "learned")]
    encoder = UserEncoder.load(
        model,
        vector_cache_dir=vector_cache_dir or byod_home() / "text-vectors",
        models_dir=byod_home() / "models",
        device=device,
    )
    table = embed_to_table(
        encoder,
        out,
        histories=read_table(histories, "histories") if histories is not None else None,
        events=read_table(events, "events") if events is not None else None,
        blocks=names,
        fit_events=read_table(fit_events, "events") if fit_events is not None else None,
        svd_dim=svd_dim,
        state=state,
        metadata={
            "model": str(model.resolve()),
            "model_hash": model_hash(model),
            "source": str((histories or events).resolve()),
            "backend": "polars",
            **({"blocks_from": str(blocks_from.resolve())} if blocks_from else {}),
        },
        progress=True,
    )
    shown = ", ".join(f"{b['name']} {b['dim']}" for b in table.metadata["blocks"])
    console.print(f"wrote {table.features.height:,} users ({shown}) to {table.path}")
