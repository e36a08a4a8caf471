"""Load a deployment folder (see :mod:`byod.serve.build`), validating everything first.

Checks, in order, each failing with a :class:`ByodError` that names the file and what to do:
the manifest's format; the sha256 of every file it lists; each backbone's fingerprint and size;
the encoder, table, item and head dimensions against each other. Nothing is unpickled: weights
are safetensors, tables Parquet, vectors ``.npy`` (read with ``allow_pickle=False``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import polars as pl
from safetensors.torch import load_file
from torch import nn

from byod.assets.manifest import sha256_file
from byod.encoders.backbone import TextBackbone, weights_fingerprint
from byod.encoders.user import UserEncoder
from byod.errors import ByodError
from byod.serve.build import FORMAT, MANIFEST
from byod.serve.heads import ClassifyHead
from byod.serve.store import MemoryStore, VectorStore

__all__ = ["Deployment", "TextClassifier", "load_deployment", "read_manifest"]

BackboneOpener = Callable[[str], TextBackbone]
StoreFactory = Callable[[list[str], np.ndarray, str], VectorStore]


@dataclasses.dataclass
class TextClassifier:
    """A ``byod text`` classifier with the backbone that embeds its inputs."""

    head: Any  # byod.textlab.semisup.HyperMatchHead
    card: dict[str, Any]
    backbone: TextBackbone


@dataclasses.dataclass
class Items:
    """Item ids, text vectors ``(n_items, dim)``, the ANN index and each user's seen items."""

    ids: list[str]
    vectors: np.ndarray
    index: faiss.Index
    seen: dict[str, np.ndarray]


@dataclasses.dataclass
class Deployment:
    """Everything one deployment serves (read-only once loaded; swapped whole on reload)."""

    path: Path
    manifest: dict[str, Any]
    digest: str
    encoder: UserEncoder | None  # None (and no store): a text-only deployment
    store: VectorStore | None
    classify: dict[str, ClassifyHead]
    recommend: dict[str, Any]  # name -> byod.transfer.recommend.RecommendHead
    items: Items | None
    text: dict[str, TextClassifier]

    @property
    def version(self) -> str:
        """The feature-table version served (``none`` in a text-only deployment)."""
        version = self.manifest.get("table_version")
        return "none" if version is None else str(version)

    def close(self) -> None:
        """Release the store."""
        if self.store is not None:
            self.store.close()


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a deployment folder (format checked)."""
    file = Path(path) / MANIFEST
    if not file.exists():
        raise ByodError(f"{path}: not a deployment (no {MANIFEST}); build one with `byod deploy`")
    manifest = json.loads(file.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ByodError(f"{file}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def _verify_files(root: Path, manifest: dict[str, Any]) -> None:
    for rel, expected in manifest["files"].items():
        file = root / rel
        if not file.exists():
            raise ByodError(f"{file}: listed in {MANIFEST} but missing; rebuild the deployment")
        if sha256_file(file) != expected:
            raise ByodError(
                f"{file}: sha256 differs from {MANIFEST} (changed after `byod deploy`); "
                "rebuild the deployment instead of editing it"
            )


def _open_backbones(manifest: dict[str, Any], opener: BackboneOpener) -> dict[str, TextBackbone]:
    out = {}
    for name, want in manifest["backbones"].items():
        bb = opener(name)
        if weights_fingerprint(bb) != want["fingerprint"] or bb.dim != want["dim"]:
            raise ByodError(
                f"backbone {name!r} here has fingerprint {weights_fingerprint(bb)} "
                f"(dim {bb.dim}); the "
                f"deployment was built with {want['fingerprint']} (dim {want['dim']}); install "
                "the same backbone (`byod models install`)"
            )
        out[name] = bb
    return out


def _npy(path: Path) -> np.ndarray:
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _load_items(root: Path) -> Items:
    ids = pl.read_parquet(root / "items" / "items.parquet")["item_id"].to_list()
    vectors = np.asarray(_npy(root / "items" / "vectors.npy"))
    index = faiss.read_index(str(root / "items" / "index.faiss"))
    if index.ntotal != len(ids) or index.d != vectors.shape[1] or len(vectors) != len(ids):
        raise ByodError(
            f"{root / 'items'}: {len(ids)} items, {len(vectors)} vectors, index of "
            f"{index.ntotal} x {index.d}; they must agree — rebuild the deployment"
        )
    seen_df = pl.read_parquet(root / "items" / "seen.parquet")
    seen = {
        u: np.asarray(s, dtype=np.int64)
        for u, s in zip(seen_df["user_id"].to_list(), seen_df["items"].to_list(), strict=True)
    }
    return Items(ids, vectors, index, seen)


def _load_recommend(folder: Path, table_dim: int, items: Items | None) -> Any:
    from byod.transfer.recommend import RecommendConfig, RecommendHead

    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    config = RecommendConfig(**card["config"])
    head = RecommendHead.from_state_tensors(config, load_file(str(folder / "head.safetensors")))
    head.card = card
    if items is None or tuple(head.item_vectors_.shape) != items.vectors.shape:
        raise ByodError(f"{folder}: the head's items do not match the deployment's item table")
    want = table_dim + (items.vectors.shape[1] if config.last_item else 0)
    got = head.model_.user[0].in_features
    if got != want:
        raise ByodError(f"{folder}: head takes {got}-d user inputs, the table gives {want}")
    return head


def _load_text(folder: Path, backbones: dict[str, TextBackbone], name: str) -> TextClassifier:
    from byod.textlab.model import load_classifier

    head, card = load_classifier(folder)
    bb = backbones[card["backbone"]]
    dim = next(m.in_features for m in head.head_.modules() if isinstance(m, nn.Linear))
    if dim != bb.dim:
        raise ByodError(f"{folder}: text head takes {dim}-d vectors, {bb.name} gives {bb.dim}")
    return TextClassifier(head, card, bb)


def _load_users(
    root: Path, manifest: dict[str, Any], backbones: dict[str, TextBackbone]
) -> tuple[UserEncoder, list[str], np.ndarray]:
    """The user encoder, the table's user ids and vectors, checked against each other."""
    encoder = UserEncoder.load(
        root / "encoder", backbone=backbones[manifest["encoder"]["backbone"]]
    )
    user_ids = pl.read_parquet(root / "table" / "user_ids.parquet")["user_id"].to_list()
    vectors = _npy(root / "table" / "vectors.npy")
    if vectors.ndim != 2 or vectors.shape[1] != encoder.dim or len(vectors) != len(user_ids):
        raise ByodError(
            f"{root / 'table'}: vectors {vectors.shape} for {len(user_ids)} users; the encoder "
            f"makes {encoder.dim}-d vectors — rebuild the deployment"
        )
    return encoder, user_ids, vectors


def load_deployment(
    path: str | Path,
    *,
    open_backbone: BackboneOpener,
    store_factory: StoreFactory | None = None,
    verify_hashes: bool = True,
) -> Deployment:
    """Validate and load a deployment.

    Args:
        path: folder written by ``byod deploy``.
        open_backbone: backbone name → backbone (the CLI opens packaged models; tests inject).
        store_factory: ``(user_ids, vectors, version)`` → store (default: in process).
        verify_hashes: check every file's sha256 against the manifest.

    """
    root = Path(path)
    manifest = read_manifest(root)
    if verify_hashes:
        _verify_files(root, manifest)
    backbones = _open_backbones(manifest, open_backbone)
    encoder, users = None, None
    if manifest.get("encoder") is not None:  # else a text-only deployment: no user table
        encoder, *users = _load_users(root, manifest, backbones)
    heads = manifest["heads"]
    classify = {
        n: ClassifyHead.load(root / h["path"]) for n, h in heads.items() if h["kind"] == "classify"
    }
    for name, head in classify.items():
        if encoder is None or head.dim != encoder.dim:
            dim = encoder.dim if encoder is not None else "no"
            raise ByodError(f"head {name!r} takes {head.dim}-d features, table has {dim}")
    items = _load_items(root) if manifest.get("items") else None
    recommend = {
        n: _load_recommend(root / h["path"], encoder.dim if encoder else 0, items)
        for n, h in heads.items()
        if h["kind"] == "recommend"
    }
    text = {
        n: _load_text(root / h["path"], backbones, n)
        for n, h in heads.items()
        if h["kind"] == "text"
    }
    store = None
    if users is not None:  # last: a Redis store is loaded only for a deployment that validated
        factory = store_factory or (lambda ids, vecs, v: MemoryStore(ids, vecs, v))
        store = factory(*users, str(manifest["table_version"]))
    digest = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()
    return Deployment(root, manifest, digest[:16], encoder, store, classify, recommend, items, text)
