"""``byod embed --backend ray``: user vectors from a pool of encoder actors, texts encoded once.

Three Ray Data runs, each on files the previous one wrote (never on the driver):

1. Tasks shuffle the input into user partitions (raw events are serialized there, written as
   the model's training histories were), one histories file per partition.
2. The partitions' distinct event texts are shuffled by text hash, so each distinct text lands in
   exactly one place, and a pool of actors (each loads the backbone once) encodes them into the
   shared event-text cache: a text is encoded once in the cluster, not once per actor.
3. A pool of actors, each loading the user encoder and the (now complete) cache once, encodes
   every partition's users with :meth:`UserEncoder.encode`, as ``byod embed`` does.

Runs 2 and 3 start only actors: in one run with the shuffle, actors holding every CPU would
starve the shuffle tasks they wait for. The driver gathers only the user vectors (one row per
user) to write the feature table and its flat index, as the Polars backend does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa

from byod.atomic import write_parquet
from byod.data.schema import validate
from byod.data.serialize import SerializeConfig, serialize
from byod.distributed.parts import PART, file_sha256, n_partitions, row_groups, with_partition
from byod.distributed.ray_data import (
    _dataset,
    _map_row_groups,
    _read_partitioned,
    _run_groups,
    _staging,
    _stats_row,
    _to_arrow,
)
from byod.distributed.runtime import check_cpus

__all__ = ["embed_ray"]


def _write_partition(batch: pa.Table, staging: Path, rendering: dict | None, kind: str) -> pa.Table:
    """One user partition as a histories file (raw events serialized as the model's were)."""
    frame = pl.from_arrow(batch)
    part = int(frame[PART][0])
    frame = frame.drop(PART)
    if kind == "events":
        frame = serialize(frame, SerializeConfig(max_events=None, **(rendering or {})))
    write_parquet(validate(frame, "histories"), staging / "users" / f"part-{part:05d}.parquet")
    return _stats_row({"part": part})


def _partition_texts(batch: pa.Table, n: int) -> pa.Table:
    texts = [
        pl.read_parquet(path, columns=["event_texts"])["event_texts"].explode().unique()
        for path in batch["path"].to_pylist()
    ]
    frame = pl.DataFrame({"text": pl.concat(texts)}).unique()
    return _to_arrow(with_partition(frame, n, column="text"))


def _write_texts(batch: pa.Table, staging: Path) -> pa.Table:
    frame = pl.from_arrow(batch)
    part = int(frame[PART][0])
    write_parquet(frame.select("text").unique(), staging / "texts" / f"part-{part:05d}.parquet")
    return _stats_row({"part": part})


class _Actor:
    """Loads the user encoder (backbone, sequence encoder, event-text cache) once per actor."""

    def __init__(self, model: str, vector_cache_dir: str, models_dir: str) -> None:
        from byod.encoders.user import UserEncoder

        self.encoder = UserEncoder.load(
            model, vector_cache_dir=vector_cache_dir, models_dir=models_dir, device="cpu"
        )


class _TextActor(_Actor):
    """Run 2: encodes distinct texts into the shared cache (cache hits are skipped)."""

    def __call__(self, batch: pa.Table) -> pa.Table:
        from byod.encoders.cache import encode_unique

        n = 0
        for path in batch["path"].to_pylist():
            texts = pl.read_parquet(path)["text"].to_list()
            encode_unique(texts, self.encoder.backbone, self.encoder.cache)
            n += len(texts)
        return _stats_row({"texts": n})


class _UserActor(_Actor):
    """Run 3: encodes whole user partitions."""

    def __call__(self, batch: pa.Table) -> pa.Table:
        frames = [
            self.encoder.encode(validate(pl.read_parquet(path), "histories"))
            for path in batch["path"].to_pylist()
        ]
        return _to_arrow(pl.concat(frames))


def _actors(files: list[Path], actor: type, args: tuple, workers: int):  # noqa: ANN202
    import ray.data

    items = [{"path": str(p)} for p in files]
    return ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        actor,
        batch_size=1,
        batch_format="pyarrow",
        fn_constructor_args=args,
        concurrency=min(workers, len(items)),
        num_cpus=1,
    )


def embed_ray(
    model: Path,
    source: Path,
    out: Path,
    *,
    kind: str,
    vector_cache_dir: Path,
    models_dir: Path,
    workers: int = 1,
):  # noqa: ANN201 (byod.features.table.FeatureTable)
    """``byod embed`` on Ray: user partitions through a pool of ``workers`` encoder actors.

    Args:
        model: the model folder.
        source: a histories (``kind="histories"``) or events (``kind="events"``) Parquet file.
        out: the feature-table folder (a new version is added).
        kind: ``histories`` or ``events``.
        vector_cache_dir: the event-text vector cache the actors share.
        models_dir: where packaged backbones are installed.
        workers: encoder actors (1 CPU each).

    Returns:
        The written :class:`~byod.features.table.FeatureTable` (``metadata["backend"] == "ray"``).
    """
    from byod.encoders.user import UserEncoderConfig, model_hash
    from byod.features.table import write_feature_table

    groups = row_groups([source])
    ds = _dataset(groups, None)
    check_cpus(workers, f"--workers {workers}")
    cfg = UserEncoderConfig.from_json(json.loads((model / "user_encoder.json").read_text()))
    rows = sum(g.rows for g in groups)
    n = n_partitions(rows, workers, rows_per_partition=50_000 if kind == "events" else 5_000)
    staging = _staging(out)
    args = (str(model.resolve()), str(vector_cache_dir.resolve()), str(models_dir))
    try:
        tagged = ds.map_batches(
            _map_row_groups(lambda g: _read_partitioned(g, n)),
            batch_size=1,
            batch_format="pyarrow",
        )
        _run_groups(tagged, _write_partition, fn_args=(staging, cfg.rendering, kind))
        users = sorted((staging / "users").glob("part-*.parquet"))
        if cfg.mode != "flat":  # flat encodes whole history texts: no event-text cache
            import ray.data

            hashed = ray.data.from_items([{"path": str(p)} for p in users]).map_batches(
                _partition_texts, fn_kwargs={"n": n}, batch_size=1, batch_format="pyarrow"
            )
            _run_groups(hashed, _write_texts, fn_args=(staging,))
            texts = _actors(
                sorted((staging / "texts").glob("*.parquet")), _TextActor, args, workers
            )
            texts.materialize()
        vectors = _actors(users, _UserActor, args, workers)
        batches = list(vectors.iter_batches(batch_format="pyarrow", batch_size=None))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    features = pl.from_arrow(pa.concat_tables(batches)).sort("user_id")  # as UserEncoder orders
    return write_feature_table(
        features,
        out,
        {
            "model": str(model.resolve()),
            "model_hash": model_hash(model),
            "backbone": cfg.backbone,
            "backbone_fingerprint": cfg.backbone_fingerprint,
            "objective": cfg.objective,
            "mode": cfg.mode,
            "source": str(source.resolve()),
            "source_kind": kind,
            "source_file_sha256": file_sha256(source),
            "backend": "ray",
            "workers": workers,
            "partitions": n,
        },
    )
