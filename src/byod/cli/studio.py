"""``byod studio``: the web UI over the same library and service, on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from byod.cli._common import byod_home, console, user_errors
from byod.errors import ByodError


@user_errors
def studio_command(
    work: Annotated[
        Path, typer.Option("--work", help="Work folder: uploads, mappings, jobs, deployments.")
    ] = Path("runs/studio"),
    host: Annotated[
        str, typer.Option(help="Interface (loopback only: the studio has no login).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port.")] = 8090,
    backbone: Annotated[str, typer.Option(help="Default event-text backbone.")] = "minilm",
) -> None:
    """Serve byod Studio: map logs, build user embeddings, train heads, deploy, in a browser."""
    import uvicorn

    from byod.serve.settings import LOOPBACK
    from byod.studio import StudioSettings, create_studio_app
    from byod.studio.app import htmx_installed

    if host not in LOOPBACK:
        raise ByodError(f"refusing to serve the studio on {host}: it has no login; use 127.0.0.1")
    if not htmx_installed():
        raise ByodError(
            "the studio's htmx asset is missing (src/byod/studio/static/vendor/htmx.min.js); "
            "run `make install` (it runs `npm ci --prefix studio` and copies it)"
        )
    home = byod_home()
    settings = StudioSettings(
        work_dir=work.resolve(),
        backbone=backbone,
        host=host,
        port=port,
        models_dir=home / "models",
        vector_cache_dir=home / "text-vectors",
    )
    console.print(f"byod studio on http://{host}:{port}/ (work folder {settings.work_dir})")
    uvicorn.run(create_studio_app(settings), host=host, port=port, log_level="warning")
