"""``byod deploy`` (assemble a deployment), ``byod serve`` (HTTP API), ``byod api-key``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from byod.cli._common import byod_home, console, user_errors
from byod.errors import ByodError

if TYPE_CHECKING:
    from byod.encoders.backbone import TextBackbone
    from byod.encoders.user import UserEncoder

__all__ = ["deploy_command", "serve_command", "api_key_command"]


@user_errors
def deploy_command(
    out: Annotated[Path, typer.Option("--out", help="New deployment folder (must not exist).")],
    model: Annotated[
        Path | None,
        typer.Option(
            help="User-encoder folder (byod pretrain); omit with --features for text only."
        ),
    ] = None,
    features: Annotated[
        Path | None, typer.Option(help="Feature-table folder (byod embed); goes with --model.")
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Feature-table version (default: the latest).")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Labels Parquet (user_id, task, label) for --task heads.")
    ] = None,
    task: Annotated[
        list[str] | None, typer.Option(help="Fit a classification head for this task.")
    ] = None,
    interactions: Annotated[
        Path | None,
        typer.Option(help="Interactions Parquet: the item table and a recommendation head."),
    ] = None,
    text: Annotated[
        list[str] | None,
        typer.Option(help="Text classifier (byod text train) as NAME=FOLDER or FOLDER."),
    ] = None,
    ann: Annotated[str, typer.Option(help="Item index: auto | flat | hnsw.")] = "auto",
    epochs: Annotated[int, typer.Option(min=1, help="Recommendation head epochs.")] = 15,
) -> None:
    """Assemble a deployment: table version, encoder, items + ANN index, heads, all hashed.

    Users (``--model`` with ``--features``), text classifiers (``--text``), or both.
    """
    from byod.data.schema import read_table
    from byod.encoders.user import UserEncoder
    from byod.features.table import read_feature_table
    from byod.serve.build import DeploySpec, build_deployment

    if (model is None) != (features is None):
        raise ByodError("--model and --features go together (a user table and its encoder); "
                        "give both, or neither with --text for text classifiers only")  # fmt: skip
    if model is None and not text:
        raise ByodError("nothing to deploy: give --model and --features, or --text NAME=FOLDER")
    home = byod_home()
    encoder = None
    if model is not None:
        encoder = UserEncoder.load(
            model, vector_cache_dir=home / "text-vectors", models_dir=home / "models"
        )
    text_dirs, text_backbones = _text_classifiers(text or [], encoder, home / "models")
    spec = DeploySpec(
        encoder=encoder,
        encoder_dir=model,
        table=read_feature_table(features, version) if features is not None else None,
        labels=read_table(labels, "labels") if labels else None,
        tasks=tuple(task or ()),
        interactions=read_table(interactions, "interactions") if interactions else None,
        text_classifiers=text_dirs,
        text_backbones=text_backbones,
        ann=ann,
        cache=encoder.cache if encoder is not None else None,
        epochs=epochs,
    )
    manifest = build_deployment(spec, out)
    heads = ", ".join(f"{n} ({h['kind']})" for n, h in manifest["heads"].items()) or "none"
    items = manifest["items"]
    table = manifest["table"]
    users = (f"table {table['version']} ({table['rows']:,} users x {table['dim']})"
             if table else "no user table (text classifiers only)")  # fmt: skip
    console.print(f"deployment → {out}: {users}, heads: {heads}")
    if items:
        console.print(f"items: {items['rows']:,} ({items['ann']} index, "
                      f"recall@100 vs exact {items['recall@100']:.3f})")  # fmt: skip


def _text_classifiers(
    entries: list[str], encoder: UserEncoder | None, models_dir: Path
) -> tuple[dict[str, Path], dict[str, TextBackbone]]:
    """``NAME=FOLDER`` (or ``FOLDER``, named after it) entries → folders and backbones by name.

    A classifier on the user encoder's backbone shares it instead of loading it a second time.
    """
    from byod.encoders.backbone import open_backbone

    dirs, backbones = {}, {}
    for entry in entries:
        label, _, path = entry.rpartition("=")
        folder = Path(path)
        card_file = folder / "classifier.json"
        if not card_file.exists():
            raise ByodError(f"{folder}: no classifier.json; train one with `byod text train`")
        name = json.loads(card_file.read_text(encoding="utf-8"))["backbone"]
        same = encoder is not None and name == encoder.config.backbone
        label = label or folder.name
        dirs[label] = folder
        backbones[label] = encoder.backbone if same else open_backbone(name, models_dir=models_dir)
    return dirs, backbones


@user_errors
def serve_command(
    deployment: Annotated[Path, typer.Argument(help="Deployment folder (byod deploy).")],
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    store: Annotated[str, typer.Option(help="memory | redis.")] = "memory",
    redis_url: Annotated[str, typer.Option(help="Redis URL with --store redis.")] = (
        "redis://127.0.0.1:6379/0"
    ),
    api_keys_file: Annotated[
        Path | None, typer.Option(help="File of hashed keys (byod api-key).")
    ] = None,
    cors_origin: Annotated[
        list[str] | None, typer.Option(help="Allow this browser origin (CORS is off otherwise).")
    ] = None,
    onnx: Annotated[
        Path | None,
        typer.Option(help="ONNX export of the backbone (byod models export-onnx) for new users."),
    ] = None,
    onnx_variant: Annotated[
        str, typer.Option(help="auto (the export's measured verdict) | fp32 | int8.")
    ] = "auto",
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve a deployment over HTTP (OpenAPI docs at /docs); env: BYOD_SERVE_*."""
    import uvicorn
    from pydantic import ValidationError

    from byod.serve import ServeSettings, create_app
    from byod.serve.settings import LOOPBACK

    given = {"deployment": deployment, "host": host, "port": port, "store": store,
             "redis_url": redis_url, "models_dir": byod_home() / "models"}  # fmt: skip
    if api_keys_file is not None:
        given["api_keys_file"] = api_keys_file
    if cors_origin:
        given["cors_origins"] = cors_origin
    if onnx is not None:
        given |= {"onnx_dir": onnx, "onnx_variant": onnx_variant}
    try:
        settings = ServeSettings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ByodError(f"serve setting {first['loc'][0]}: {first['msg']}") from None
    app = create_app(settings)
    if settings.host not in LOOPBACK and app.state.keys.empty:
        raise ByodError(
            f"refusing to serve on {settings.host} without API keys; add a key file "
            "(byod api-key --out keys.txt, then --api-keys-file keys.txt) or bind 127.0.0.1"
        )
    dep = app.state.holder.reload()  # validate now: a bad deployment is one line, exit 2
    console.print(f"serving {deployment} (table {dep.version}) on http://{host}:{port}")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level, workers=1)


@user_errors
def api_key_command(
    out: Annotated[Path, typer.Option("--out", help="Key file to append the key's hash to.")],
    scope: Annotated[str, typer.Option(help="read | admin.")] = "read",
    header_file: Annotated[
        Path | None,
        typer.Option(help="Also write 'X-API-Key: KEY' here (owner-only), for `curl -H @FILE`."),
    ] = None,
) -> None:
    """Make an API key: print it once, store only its sha256 in the key file."""
    from byod.atomic import write_text
    from byod.serve.security import SCOPES, hash_key, new_key

    if scope not in SCOPES:
        raise ByodError(f"--scope must be one of {SCOPES}, got {scope!r}")
    key = new_key()
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    write_text(old + f"{scope}:{hash_key(key)}\n", out)
    if header_file is not None:
        header_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(header_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"X-API-Key: {key}\n")
    typer.echo(key)
