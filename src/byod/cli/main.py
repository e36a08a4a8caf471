"""Root ``byod`` app: mounts the command groups."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from byod import __version__
from byod.cli.data import app as data_app
from byod.cli.demo import demo
from byod.cli.embed import embed_command
from byod.cli.labels import app as labels_app
from byod.cli.models import app as models_app
from byod.cli.pretrain import pretrain_command
from byod.cli.report import report_command
from byod.cli.run import run_command
from byod.cli.serve import api_key_command, deploy_command, serve_command
from byod.cli.studio import studio_command
from byod.cli.text import app as text_app
from byod.cli.transfer import app as transfer_app
from byod.cli.tune import app as tune_app

app = typer.Typer(
    name="byod",
    help="Bring your own data: service logs and a few labels in; user embeddings and models out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")
app.add_typer(labels_app, name="labels")
app.add_typer(transfer_app, name="transfer")
app.add_typer(text_app, name="text")
app.add_typer(tune_app, name="tune")
app.command("demo")(demo)
app.command("run")(run_command)
app.command("pretrain")(pretrain_command)
app.command("embed")(embed_command)
app.command("report")(report_command)
app.command("deploy")(deploy_command)
app.command("serve")(serve_command)
app.command("api-key")(api_key_command)
app.command("studio")(studio_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"byod {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Bring your own data: service logs and a few labels in; user embeddings and models out."""
    # The command line never reaches for a model hub: every model is a local, packaged folder.
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(var, "1")
