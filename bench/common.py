"""Shared set-up for the encoder benchmarks: MovieLens histories and a backbone."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path

import numpy as np
import polars as pl

from byod.data.builtin import load_movielens
from byod.data.serialize import SerializeConfig, serialize
from byod.data.splits import leave_one_out


def ml_histories(dataset: str, max_events: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(histories of the leave-one-out history side, label table) for a built-in dataset."""
    ml = load_movielens(dataset)
    history = leave_one_out(ml.events).history
    return serialize(history, SerializeConfig(max_events=max_events)), ml.labels


class VectorsOnlyBackbone:
    """A backbone without weights: its vectors must all be in the cache (``offline_pack.py``).

    Args:
        name: the real backbone's name.
        fingerprint: the real backbone's fingerprint (the cache folder it reads).
        dim: vector size.
    """

    def __init__(self, name: str, fingerprint: str, dim: int) -> None:
        self.name, self.fingerprint, self.dim = name, fingerprint, dim

    def encode(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Refuse: a text outside the carried cache would silently get another model's vector."""
        raise RuntimeError(
            f"{len(texts)} texts are not in the carried vector cache of {self.name} "
            f"({self.fingerprint}), e.g. {texts[0]!r}; run bench/offline_pack.py pack again"
        )


def backbone(name: str):  # noqa: ANN201
    """Open a packaged backbone by name, a sentence-transformers folder by path, or
    ``vectors:<backbone.json>``: cached vectors only (:class:`VectorsOnlyBackbone`)."""
    from byod.encoders.backbone import SentenceTransformerBackbone, open_backbone

    if name.startswith("vectors:"):
        meta = json.loads(Path(name.removeprefix("vectors:")).read_text())
        return VectorsOnlyBackbone(meta["name"], meta["fingerprint"], int(meta["dim"]))
    if Path(name).is_dir():
        os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer

        return SentenceTransformerBackbone(SentenceTransformer(name, device="cpu"), name)
    return open_backbone(name)


def peak_mb() -> float:
    """Peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
