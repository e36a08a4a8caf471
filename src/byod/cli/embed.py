"""``byod embed``: write the feature table (user -> vector) with its nearest-neighbour index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from byod.cli._common import byod_home, console, user_errors
from byod.data.schema import read_table
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
        Path | None, typer.Option("--events", help="Raw events Parquet (new users).")
    ] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Event-text vector cache.")] = None,
    device: Annotated[str, typer.Option(help="cpu | cuda.")] = "cpu",
) -> None:
    """Embed users from histories, or from raw events of users the model has never seen."""
    from byod.encoders.user import UserEncoder, model_hash  # torch: import late
    from byod.features.table import frame_hash, write_feature_table

    if (histories is None) == (events is None):
        raise ByodError("give exactly one of --histories or --events")
    encoder = UserEncoder.load(
        model,
        cache_dir=cache_dir or byod_home() / "text-vectors",
        models_dir=byod_home() / "models",
        device=device,
    )
    if histories is not None:
        source = read_table(histories, "histories")
        features = encoder.encode(source, progress=True)
    else:
        source = read_table(events, "events")
        features = encoder.encode_events(source, progress=True)
    cfg = encoder.config
    table = write_feature_table(
        features,
        out,
        {
            "model": str(model.resolve()),
            "model_hash": model_hash(model),
            "backbone": cfg.backbone,
            "backbone_fingerprint": cfg.backbone_fingerprint,
            "objective": cfg.objective,
            "mode": cfg.mode,
            "source": str((histories or events).resolve()),
            "source_kind": "histories" if histories is not None else "events",
            "source_hash": frame_hash(source),
        },
    )
    console.print(
        f"wrote {table.features.height:,} users x {table.metadata['dim']} to {table.path}"
    )
