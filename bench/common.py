"""Shared set-up for the encoder benchmarks: MovieLens histories and a backbone."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import polars as pl

from byod.data.builtin import load_movielens
from byod.data.serialize import SerializeConfig, serialize
from byod.data.splits import leave_one_out


def ml_histories(dataset: str, max_events: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(histories of the leave-one-out history side, label table) for a built-in dataset."""
    ml = load_movielens(dataset)
    history = leave_one_out(ml.events).history
    return serialize(history, SerializeConfig(max_events=max_events)), ml.labels


def backbone(name: str):  # noqa: ANN201
    """Open a packaged backbone by name, or a sentence-transformers folder by path."""
    from byod.encoders.backbone import SentenceTransformerBackbone, open_backbone

    if Path(name).is_dir():
        os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer

        return SentenceTransformerBackbone(SentenceTransformer(name, device="cpu"), name)
    return open_backbone(name)


def peak_mb() -> float:
    """Peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
