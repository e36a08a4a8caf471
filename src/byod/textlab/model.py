"""Save and load a trained text classifier: head weights (safetensors) + a JSON card.

No pickle: the card names the backbone, the label order and the task; the weights are plain
tensors. Loading rebuilds the head and checks that the weights fit it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from safetensors.torch import load_file, save_file

from byod.atomic import atomic_path, write_json
from byod.errors import ByodError
from byod.textlab.prompts import TaskSpec
from byod.textlab.semisup import HyperMatchHead, SSLConfig, head_network

__all__ = ["save_classifier", "save_encoder", "load_classifier", "prediction_frame"]

_CARD = "classifier.json"
_WEIGHTS = "head.safetensors"
_ENCODER = "encoder"


def save_classifier(
    head: HyperMatchHead, folder: str | Path, *, backbone: str, task: TaskSpec
) -> Path:
    """Write ``folder/head.safetensors`` and ``folder/classifier.json``; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / _WEIGHTS) as tmp:
        save_file({k: v.contiguous() for k, v in head.head_.state_dict().items()}, str(tmp))
    card = {
        "format": "byod-text-classifier/1",
        "backbone": backbone,
        "classes": [str(c) for c in head.classes_],
        "ssl": dataclasses.asdict(head.config),
        "task": {
            "text_type": task.text_type,
            "label_type": task.label_type,
            "labels": list(task.labels),
            "words": list(task.words),
            "template": task.template.name,
        },
    }
    write_json(card, folder / _CARD)
    return folder


def save_encoder(backbone: Any, folder: str | Path) -> Path:
    """Write a fine-tuned sentence-transformers encoder to ``folder/encoder``; return that path.

    Saved as a sentence-transformers folder (safetensors weights, its prompts kept), written
    beside and then swapped in, so a crash never leaves half a model; the classifier card names
    the folder as its backbone, and ``open_backbone(folder)`` reads it back.
    """
    model = getattr(backbone, "model", None)
    if model is None:
        raise ByodError("only a sentence-transformers encoder can be saved with the classifier")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final, tmp, old = folder / _ENCODER, folder / f".{_ENCODER}.tmp", folder / f".{_ENCODER}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(str(tmp), safe_serialization=True)
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def load_classifier(folder: str | Path) -> tuple[HyperMatchHead, dict]:
    """The head and its card from a folder written by :func:`save_classifier`."""
    folder = Path(folder)
    if not (folder / _CARD).exists():
        raise ByodError(f"{folder}: no {_CARD}; train a model with `byod text train` first")
    card = json.loads((folder / _CARD).read_text(encoding="utf-8"))
    state = load_file(str(folder / _WEIGHTS))
    config = SSLConfig(**card["ssl"])
    dim = next(v for k, v in state.items() if k.endswith("weight")).shape[1]
    head = HyperMatchHead(config)
    head.head_ = head_network(int(dim), len(card["classes"]), config.hidden, config.standardize)
    try:
        head.head_.load_state_dict(state)
    except RuntimeError as exc:
        raise ByodError(f"{folder / _WEIGHTS}: weights do not fit the card: {exc}") from None
    head.head_.eval()
    head.classes_ = np.asarray(card["classes"])
    return head, card


def prediction_frame(classes: np.ndarray, probs: np.ndarray) -> pl.DataFrame:
    """``prediction, confidence, prob_<class>...`` columns from ``(n, n_classes)`` probabilities."""
    classes = np.asarray(classes)
    return pl.DataFrame(
        {
            "prediction": classes[probs.argmax(axis=1)].astype(str),
            "confidence": probs.max(axis=1),
            **{f"prob_{c}": probs[:, j] for j, c in enumerate(classes)},
        }
    )
