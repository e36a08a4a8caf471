"""``byod pretrain``: contrastive pretraining of the user encoder."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from byod.cli._common import byod_home, console, user_errors
from byod.data.schema import read_table
from byod.distributed import check_backend
from byod.errors import ConfigError


def _yaml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of pretrain settings")
    return raw


@user_errors
def pretrain_command(
    histories: Annotated[
        Path, typer.Option("--histories", help="Histories Parquet (byod data serialize).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML with PretrainConfig keys.")
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option(help="clue | slices | simclr | next, or weighted: 'clue:1,slices:1'."),
    ] = None,
    backbone: Annotated[
        str | None, typer.Option(help="e5-small | minilm | a local folder.")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs.")] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Contrastive batch (pairs per step).")
    ] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Rows embedded at once (memory).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda.")] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Write an untrained baseline: zero-shot | random.")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue from the last checkpoint in --out.")
    ] = False,
    flat: Annotated[
        bool, typer.Option(help="Comparison mode: fine-tune the backbone on whole history texts.")
    ] = False,
    vector_cache_dir: Annotated[
        Path | None, typer.Option(help="Event-text vector cache (default $BYOD_HOME/text-vectors).")
    ] = None,
    backend: Annotated[
        str, typer.Option(help="polars (one process) | ray (Ray Train, --workers processes).")
    ] = "polars",
    workers: Annotated[
        int, typer.Option(min=1, help="ray: workers; --batch-size is per worker.")
    ] = 2,
) -> None:
    """Pretrain a user encoder on serialized histories (or write an untrained baseline)."""
    from byod.pretrain.run import PretrainConfig, baseline_encoder, pretrain  # torch: import late

    top = {"objective": objective, "backbone": backbone}
    raw = {**_yaml(config), **{k: v for k, v in top.items() if v is not None}}
    cfg = PretrainConfig.from_dict(raw, where=str(config) if config else "pretrain options")
    cfg = cfg.with_overrides(
        epochs=epochs, batch_size=batch_size, chunk_size=chunk_size, max_steps=max_steps,
        seed=seed, device=device,
    )  # fmt: skip
    data = read_table(histories, "histories")
    from byod.data.serialize import read_rendering

    rendering = read_rendering(histories)  # saved with the model: new users written the same way
    cache = vector_cache_dir or byod_home() / "text-vectors"
    from byod.encoders.backbone import open_backbone
    from byod.pretrain.trainer import pick_device

    # --flat and --baseline honour --config, --batch-size, --device ... as training does.
    device_name = str(pick_device(cfg.train.device))
    bb = open_backbone(cfg.backbone, models_dir=byod_home() / "models", device=device_name)
    if check_backend(backend) == "ray":
        from byod.cli.ray_backend import pretrain_with_ray

        pretrain_with_ray(data, out, cfg, bb, cache, resume, rendering, workers, flat, baseline)
        return
    if flat:
        from byod.pretrain.flat import FlatConfig, pretrain_flat

        given = {**(raw.get("train") or {}), **{k: v for k, v in {
            "epochs": epochs, "batch_size": batch_size, "chunk_size": chunk_size,
            "max_steps": max_steps, "seed": seed}.items() if v is not None}}  # fmt: skip
        known = {f.name for f in dataclasses.fields(FlatConfig)}
        fcfg = FlatConfig(**{k: v for k, v in given.items() if k in known})
        pretrain_flat(data, out, bb, fcfg)
        console.print(f"wrote the flat ({cfg.backbone} fine-tuned) encoder to {out}")
        return
    if baseline:
        baseline_encoder(
            baseline, data, bb, max_events=cfg.max_events, seed=cfg.train.seed,
            rendering=rendering,
        ).save(out)  # fmt: skip
        console.print(f"wrote the {baseline} baseline to {out}")
        return
    console.print(f"pretraining {cfg.objective} on {data.height:,} histories with {cfg.backbone}")
    encoder, state = pretrain(
        data, out, cfg, backbone=bb, vector_cache_dir=cache, resume=resume, rendering=rendering
    )
    best = min((h["val_loss"] for h in state.history), default=float("nan"))
    console.print(
        f"done: {state.epoch} epochs, {state.global_step} steps, best validation loss {best:.4f}; "
        f"model in {out} (dim {encoder.dim})"
    )
    console.print(f"settings: {dataclasses.asdict(cfg)}", highlight=False)
