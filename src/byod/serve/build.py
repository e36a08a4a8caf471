"""``byod deploy``: assemble what is served into one self-contained, hashed folder.

Layout (built in a staging folder beside ``out`` and renamed into place, so a half-built
deployment is never seen; a deployment is never changed in place — build a new one and reload)::

    DEPLOY/
      deployment.json            manifest: versions, backbones, dims, sha256 of every file
      encoder/                   the user encoder (config + safetensors)
      table/                     user_ids.parquet, vectors.npy (memory-mapped), metadata.json
      items/                     items.parquet (item_id, item_text), vectors.npy, index.faiss,
                                 seen.parquet (user_id, item indices in time order)
      heads/NAME/                classification heads (card.json + head.safetensors)
      recommend/NAME/            recommendation heads (card.json + head.safetensors)
      text/NAME/                 text classifiers (classifier.json + head.safetensors)

A text-only deployment (text classifiers, no user encoder or table) has no ``encoder/`` or
``table/``; its manifest's ``table_version``, ``encoder`` and ``table`` are null.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from safetensors.torch import save_file

from byod.assets.manifest import sha256_file
from byod.atomic import atomic_path, write_json, write_parquet
from byod.encoders.backbone import TextBackbone
from byod.encoders.cache import EmbeddingCache
from byod.encoders.user import UserEncoder, model_hash
from byod.errors import ByodError
from byod.features.index import write_index
from byod.features.table import FeatureTable
from byod.serve.heads import ClassifyHead, export_classify_head
from byod.serve.items import build_item_index, index_kind, recall_at_k

__all__ = ["DeploySpec", "build_deployment", "fit_classify_head", "MANIFEST"]

MANIFEST = "deployment.json"
FORMAT = "byod-deployment/1"
RECALL_K = 100


@dataclasses.dataclass
class DeploySpec:
    """What goes into a deployment.

    Attributes:
        encoder: the user encoder, with its saved folder ``encoder_dir`` (None, with no
            ``encoder_dir`` and no ``table``: a text-only deployment of ``text_classifiers``).
        encoder_dir: folder written by ``UserEncoder.save``.
        table: the feature-table version to serve.
        labels: ``user_id, task, label`` rows for classification heads (None: no heads).
        tasks: tasks to fit a head for.
        interactions: ``user_id, item_id, item_text, timestamp, seq`` (None: no items).
        text_classifiers: folders written by ``byod text train``, by name.
        ann: ``auto``, ``flat`` or ``hnsw``.
        cache: event/item-text vector cache for the backbone.
        epochs: recommendation head epochs.

    """

    encoder: UserEncoder | None = None
    encoder_dir: Path | None = None
    table: FeatureTable | None = None
    labels: pl.DataFrame | None = None
    tasks: tuple[str, ...] = ()
    interactions: pl.DataFrame | None = None
    text_classifiers: dict[str, Path] = dataclasses.field(default_factory=dict)
    text_backbones: dict[str, TextBackbone] = dataclasses.field(default_factory=dict)
    ann: str = "auto"
    cache: EmbeddingCache | None = None
    epochs: int = 15


def _check_users(spec: DeploySpec) -> None:
    """A user table comes with its encoder; without both, only text classifiers are served."""
    parts = (spec.encoder, spec.encoder_dir, spec.table)
    if all(p is None for p in parts):
        if not spec.text_classifiers:
            raise ByodError("a deployment needs a user encoder and table, or a text classifier")
        if spec.tasks or spec.interactions is not None:
            raise ByodError("heads and recommendations need the user encoder and table")
        return
    if any(p is None for p in parts):
        raise ByodError(
            "a user table is deployed with its encoder: give encoder, its folder and table"
        )
    _check_table(spec)


def _check_table(spec: DeploySpec) -> None:
    meta, cfg = spec.table.metadata, spec.encoder.config
    if int(meta["dim"]) != spec.encoder.dim:
        raise ByodError(
            f"{spec.table.path}: table vectors have dim {meta['dim']} but the encoder in "
            f"{spec.encoder_dir} makes {spec.encoder.dim}; deploy the table this model wrote"
        )
    fp = meta.get("backbone_fingerprint")
    if fp and fp != cfg.backbone_fingerprint:
        raise ByodError(
            f"{spec.table.path}: built with backbone fingerprint {fp}, the encoder uses "
            f"{cfg.backbone_fingerprint}; re-run `byod embed` with this model"
        )
    mh = meta.get("model_hash")
    if mh and mh != model_hash(spec.encoder_dir):
        raise ByodError(
            f"{spec.table.path}: written by model hash {mh}, but {spec.encoder_dir} hashes to "
            f"{model_hash(spec.encoder_dir)}; deploy the model that wrote the table"
        )


def fit_classify_head(
    vectors: np.ndarray, user_ids: list[str], labels: pl.DataFrame, task: str, table_version: str
) -> ClassifyHead:
    """A logistic head on every labelled user, its held-out metrics (2 splits) in the card."""
    from byod.transfer.classify import evaluate_classification, summarize, task_labels
    from byod.transfer.heads import make_head

    rows, y = task_labels(labels, task, user_ids)
    metrics = summarize(evaluate_classification(vectors[rows], y, make_head("logistic"), n_seeds=2))
    head = make_head("logistic").fit(vectors[rows], y)
    card = {
        "kind": "classify",
        "task": task,
        "head": "logistic",
        "table_version": table_version,
        "n_train": int(len(y)),
        "metrics": {r["metric"]: {"mean": r["mean"], "std": r["std"]}
                    for r in metrics.iter_rows(named=True)},
        "metrics_protocol": "2 stratified 80/20 user splits; the served head is refit on all users",
    }  # fmt: skip
    return export_classify_head(head, card)


def _write_table(spec: DeploySpec, root: Path) -> None:
    table = spec.table
    write_parquet(table.features.select("user_id"), root / "table" / "user_ids.parquet")
    _save_npy(table.vectors, root / "table" / "vectors.npy")
    write_json(table.metadata, root / "table" / "metadata.json")


def _save_npy(array: np.ndarray, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(array, dtype=np.float32))


def _write_items(spec: DeploySpec, root: Path) -> tuple[dict[str, Any], Any]:
    """Item table, ANN index, seen items and (if possible) a recommendation head."""
    from byod.transfer.nextitem import next_item_task
    from byod.transfer.recommend import RecommendConfig
    from byod.transfer.run import item_vectors, recommend_source, table_source

    task = next_item_task(spec.interactions)
    vectors = item_vectors(task, spec.encoder.backbone, spec.cache, progress=True)
    write_parquet(task.items.select("item_id", "item_text"), root / "items" / "items.parquet")
    _save_npy(vectors, root / "items" / "vectors.npy")
    seen = (
        task.ordered.group_by("user_id", maintain_order=True)
        .agg(pl.col("index").cast(pl.Int32).alias("items"))
        .sort("user_id")
    )
    write_parquet(seen, root / "items" / "seen.parquet")
    cfg = RecommendConfig(kind="mlp", epochs=spec.epochs, last_item=True)
    # The served table is static (one vector per user), so the head trains on the validation
    # targets only, as `byod transfer recommend --features` does.
    results, head = recommend_source(
        task, "served", table_source(spec.table.features), vectors, cfg, static=True, progress=True
    )
    index = build_item_index(vectors, spec.ann)
    write_index(index, root / "items" / "index.faiss")
    sample = spec.table.vectors[:1000]
    prev = vectors[np.zeros(len(sample), dtype=np.int64)]  # recall is about the index, any input
    queries = head.retrieval_query(np.concatenate([sample, prev], axis=1))
    info = {
        "rows": int(task.items.height),
        "dim": int(vectors.shape[1]),
        "ann": index_kind(index),
        f"recall@{RECALL_K}": recall_at_k(index, vectors, queries, RECALL_K),
        "recall_queries": int(len(queries)),
    }
    full = results.filter(pl.col("segment") == "all")
    card = {
        "kind": "recommend",
        "config": dataclasses.asdict(cfg),
        "table_version": spec.table.metadata["version"],
        "metrics": {f"{r['protocol']}/{r['metric']}": r["value"]
                    for r in full.iter_rows(named=True)},
        "metrics_protocol": "leave-one-out test targets; static features (built from all events)",
    }  # fmt: skip
    folder = root / "recommend" / "next-item"
    folder.mkdir(parents=True)
    with atomic_path(folder / "head.safetensors") as tmp:
        save_file(head.state_tensors(), str(tmp))
    write_json(card, folder / "card.json")
    return info, card


def _copy_folder(src: Path, dst: Path, names: tuple[str, ...]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)


def _manifest(spec: DeploySpec, root: Path, heads: dict[str, dict], items: dict | None) -> dict:
    backbones, users = {}, _users_manifest(spec)
    if spec.encoder is not None:
        cfg = spec.encoder.config
        backbones[cfg.backbone] = {
            "fingerprint": cfg.backbone_fingerprint,
            "dim": spec.encoder.backbone.dim,
        }
    for bb in spec.text_backbones.values():
        backbones[bb.name] = {"fingerprint": bb.fingerprint, "dim": bb.dim}
    files = {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    return {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "backbones": backbones,
        **users,
        "items": items,
        "heads": heads,
        "files": files,
    }


def _users_manifest(spec: DeploySpec) -> dict[str, Any]:
    """The table version, encoder and table entries (None in a text-only deployment)."""
    if spec.encoder is None or spec.table is None or spec.encoder_dir is None:
        return {"table_version": None, "encoder": None, "table": None}
    cfg, meta = spec.encoder.config, spec.table.metadata
    return {
        "table_version": meta["version"],
        "encoder": {"backbone": cfg.backbone, "mode": cfg.mode, "dim": spec.encoder.dim,
                    "objective": cfg.objective, "hash": model_hash(spec.encoder_dir)},
        "table": {"source": str(spec.table.path), "version": meta["version"],
                  "rows": int(meta["rows"]), "dim": int(meta["dim"])},
    }  # fmt: skip


def build_deployment(spec: DeploySpec, out: str | Path) -> dict[str, Any]:
    """Validate and write a deployment folder at ``out`` (must not exist); return the manifest."""
    out = Path(out)
    if out.exists():
        raise ByodError(
            f"{out} already exists; a deployment is never changed in place: choose a new folder "
            "and switch to it with POST /v1/admin/reload"
        )
    _check_users(spec)
    out.parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        manifest = _build_into(spec, root)
        os.replace(root, out)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return manifest


def _build_into(spec: DeploySpec, root: Path) -> dict[str, Any]:
    heads: dict[str, dict] = {}
    if spec.table is not None:  # else text-only (checked by _check_users)
        _copy_folder(
            spec.encoder_dir, root / "encoder", ("user_encoder.json", "sequence.safetensors")
        )
        _write_table(spec, root)
    for task in spec.tasks:
        if spec.labels is None:
            raise ByodError("--task needs --labels (user_id, task, label)")
        version = spec.table.metadata["version"]
        head = fit_classify_head(
            spec.table.vectors, spec.table.user_ids, spec.labels, task, version
        )
        head.save(root / "heads" / task)
        heads[task] = {"kind": "classify", "path": f"heads/{task}", "classes": head.classes}
    items = None
    if spec.interactions is not None:
        items, card = _write_items(spec, root)
        heads["next-item"] = {"kind": "recommend", "path": "recommend/next-item",
                              "metrics": card["metrics"]}  # fmt: skip
    for name, folder in spec.text_classifiers.items():
        _copy_folder(folder, root / "text" / name, ("classifier.json", "head.safetensors"))
        bb = spec.text_backbones[name]
        heads[name] = {"kind": "text", "path": f"text/{name}", "backbone": bb.name}
    manifest = _manifest(spec, root, heads, items)
    write_json(manifest, root / MANIFEST)
    return manifest
