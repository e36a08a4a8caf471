"""Open a backbone by packaged name or folder path, offline, and fingerprint it.

A backbone is either a packaged name (``e5-small``, ``minilm``: installed on first use) or the
path of a local sentence-transformers folder (for example a fine-tuned copy).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from byod.assets.installer import install, installed_path
from byod.assets.manifest import MANIFEST, read_manifest, sha256_file, verify
from byod.assets.registry import BACKBONES
from byod.errors import ByodError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["backbone_folder", "load_backbone", "backbone_fingerprint", "backbone_prompt"]

# Files that decide a model's output: weights, configs, tokenizer vocabularies; not notes about it
# (all-MiniLM-L6-v2 ships data_config.json, a list of its training sets).
_FINGERPRINT_SUFFIXES = {".safetensors", ".bin", ".pt", ".json", ".txt", ".model"}
_NOT_MODEL_FILES = {MANIFEST, "data_config.json", "README.md"}
_ST_CONFIG = "config_sentence_transformers.json"


def backbone_folder(
    name_or_path: str | Path, *, models_dir: str | Path | None = None, check: bool = True
) -> Path:
    """The model folder of a packaged name (installed if needed) or a local path.

    Args:
        name_or_path: a packaged name or a sentence-transformers / transformers folder.
        models_dir: cache root for packaged names.
        check: for a packaged name, verify every sha256 (else only sizes) before trusting it.

    Raises:
        ByodError: neither a packaged name nor a model folder.
    """
    name = str(name_or_path)
    if name in BACKBONES:
        folder = installed_path(name, models_dir)
        return folder if verify(folder, full=check) else install(name, models_dir)
    folder = Path(name_or_path)
    if not ((folder / "modules.json").is_file() or (folder / "config.json").is_file()):
        raise ByodError(
            f"backbone {name!r} is neither a packaged backbone ({sorted(BACKBONES)}) nor a "
            "sentence-transformers folder (no modules.json or config.json there); run "
            "`byod models list`"
        )
    return folder


def load_backbone(
    name_or_path: str | Path,
    *,
    models_dir: str | Path | None = None,
    device: str | None = None,
) -> SentenceTransformer:
    """Load a backbone as a ``SentenceTransformer``; nothing can be fetched from a model hub.

    Args:
        name_or_path: a packaged name (installed into ``models_dir`` on first use) or a folder.
        models_dir: cache root for packaged names (default ``~/.cache/byod/models``).
        device: torch device; ``None`` lets sentence-transformers pick (CUDA when available).

    Returns:
        The model; ``encode(texts)`` gives ``(n, dim)`` vectors. Prompts (e5's ``query: ``) are
        recorded in the folder but not applied by default: pass ``prompt_name="query"`` or prepend
        :func:`backbone_prompt`.
    """
    folder = backbone_folder(name_or_path, models_dir=models_dir)
    # A local folder and local_files_only: nothing is looked up on a hub. The process-wide
    # HF_HUB_OFFLINE switch is the CLI's / service's to set, not a library's.
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device=device, local_files_only=True)


def backbone_prompt(name_or_path: str | Path, *, models_dir: str | Path | None = None) -> str:
    """The prefix to put in front of each event text (``"query: "`` for e5, else ``""``).

    For a packaged name it comes from the registry (no I/O); for a folder, from
    ``config_sentence_transformers.json``: ``prompts["query"]``, or ``""`` when the folder sets a
    ``default_prompt_name`` (then ``encode`` already adds it).
    """
    name = str(name_or_path)
    if name in BACKBONES:
        return BACKBONES[name].prompts.get("query", "")
    try:
        config = json.loads((Path(name_or_path) / _ST_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if config.get("default_prompt_name"):
        return ""
    return (config.get("prompts") or {}).get("query", "")


def backbone_fingerprint(name_or_path: str | Path, *, models_dir: str | Path | None = None) -> str:
    """A stable 16-hex hash of the folder's weight, config and tokenizer files.

    It depends on file contents and relative paths only (not on where the cache lives), so a
    packaged name and the path of its installed folder give the same value. Installed folders
    reuse the sha256 values in their manifest instead of re-reading the weights.
    """
    folder = backbone_folder(name_or_path, models_dir=models_dir, check=False)
    digest = hashlib.sha256()
    for rel, sha in sorted(_file_hashes(folder).items()):
        digest.update(f"{rel}\t{sha}\n".encode())
    return digest.hexdigest()[:16]


def _file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of each file that decides the output, by relative path (from the manifest if any)."""

    def counts(rel: str) -> bool:
        return Path(rel).suffix in _FINGERPRINT_SUFFIXES and Path(rel).name not in _NOT_MODEL_FILES

    manifest = read_manifest(folder) if verify(folder, full=False) else None
    if manifest is not None:
        return {rel: e["sha256"] for rel, e in manifest["files"].items() if counts(rel)}
    files = (p for p in folder.rglob("*") if p.is_file())
    return {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in files
        if counts(p.relative_to(folder).as_posix())
    }
