"""Classification heads in their serving form: plain arrays (safetensors) + a JSON card.

A fitted :mod:`byod.transfer.heads` head is a scikit-learn pipeline; pickling it would tie the
service to one scikit-learn release and run arbitrary code on load. Instead the pipeline is
exported to what it computes: standardisation, then dense layers, then a logistic or softmax
output; :meth:`ClassifyHead.predict_proba` evaluates that in NumPy and matches
``pipeline.predict_proba`` to float32 precision.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from byod.atomic import atomic_path, write_json
from byod.errors import ByodError

__all__ = ["ClassifyHead", "export_classify_head"]

_CARD = "card.json"
_WEIGHTS = "head.safetensors"
FORMAT = "byod-classify-head/1"


@dataclasses.dataclass(frozen=True)
class ClassifyHead:
    """Standardise → dense layers (ReLU between them) → logistic / softmax.

    Attributes:
        classes: class labels, in the order of the probability columns.
        mean: ``(dim,)`` standardisation mean.
        scale: ``(dim,)`` standardisation scale.
        weights: per layer ``(d_in, d_out)``.
        biases: per layer ``(d_out,)``.
        card: what the head is (task, kind, metrics, the table it was fitted on, ...).
    """

    classes: list[str]
    mean: np.ndarray
    scale: np.ndarray
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    card: dict[str, Any]

    @property
    def dim(self) -> int:
        """Input size."""
        return int(self.mean.shape[0])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``(n, dim)`` features → ``(n, n_classes)`` probabilities (columns follow ``classes``)."""
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.scale
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = z @ w + b
            if i < len(self.weights) - 1:
                z = np.maximum(z, 0.0)
        if z.shape[1] == 1:  # binary: one logit for the second class
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, folder: str | Path) -> Path:
        """Write ``folder/head.safetensors`` and ``folder/card.json`` (each atomically)."""
        folder = Path(folder)
        tensors = {"mean": self.mean, "scale": self.scale}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            tensors[f"layer{i}.weight"] = w
            tensors[f"layer{i}.bias"] = b
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / _WEIGHTS) as tmp:
            save_file({k: np.ascontiguousarray(v, np.float64) for k, v in tensors.items()}, tmp)
        write_json({**self.card, "format": FORMAT, "classes": self.classes}, folder / _CARD)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> ClassifyHead:
        """Read a head written by :meth:`save`; checks the weights fit the card."""
        folder = Path(folder)
        card_path = folder / _CARD
        if not card_path.exists():
            raise ByodError(f"{folder}: not a classification head (no {_CARD})")
        card = json.loads(card_path.read_text(encoding="utf-8"))
        if card.get("format") != FORMAT:
            raise ByodError(f"{card_path}: format {card.get('format')!r}, expected {FORMAT!r}")
        t = load_file(str(folder / _WEIGHTS))
        n = sum(1 for k in t if k.endswith(".weight"))
        head = cls(
            classes=[str(c) for c in card["classes"]],
            mean=t["mean"],
            scale=t["scale"],
            weights=[t[f"layer{i}.weight"] for i in range(n)],
            biases=[t[f"layer{i}.bias"] for i in range(n)],
            card=card,
        )
        head._check(folder)
        return head

    def _check(self, where: Path | str) -> None:
        d = self.dim
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if w.shape[0] != d or b.shape != (w.shape[1],):
                raise ByodError(f"{where}: layer {i} has shape {w.shape}, expected ({d}, ...)")
            d = w.shape[1]
        expected = 1 if len(self.classes) == 2 else len(self.classes)
        if d != expected:
            raise ByodError(f"{where}: {d} outputs for {len(self.classes)} classes")


def export_classify_head(head: Any, card: dict[str, Any]) -> ClassifyHead:
    """The serving form of a fitted ``LogisticHead``, ``MLPHead`` or ``MajorityHead``.

    Args:
        head: a fitted :mod:`byod.transfer.heads` head (its ``pipeline_``).
        card: metadata to keep with it.

    """
    # Every scaler byod's heads use (StandardScaler, BlockScaler) computes (x - mean_) / scale_.
    scalers = [step for _, step in head.pipeline_.steps[:-1] if hasattr(step, "scale_")]
    if len(head.pipeline_.steps) > 1 + len(scalers):
        raise ByodError("cannot export a head whose pipeline holds more than a scaler and a model")
    scaler = scalers[0] if scalers else None
    model = head.pipeline_[-1]
    classes = [str(c) for c in head.classes_]
    n_features = int(model.n_features_in_)
    mean = np.zeros(n_features) if scaler is None or scaler.mean_ is None else scaler.mean_
    scale = np.ones(n_features) if scaler is None else scaler.scale_
    kind = type(model).__name__
    if hasattr(model, "coef_"):  # LogisticRegression(CV)
        weights, biases = [model.coef_.T], [model.intercept_]
    elif hasattr(model, "coefs_"):  # MLPClassifier (ReLU hidden layers)
        if model.activation != "relu":
            raise ByodError(f"MLP heads with activation {model.activation!r} cannot be served")
        weights, biases = list(model.coefs_), list(model.intercepts_)
    elif hasattr(model, "class_prior_"):  # DummyClassifier(prior): constant log-priors
        prior = np.log(np.maximum(model.class_prior_, 1e-12))
        out = np.array([prior[1] - prior[0]]) if len(classes) == 2 else prior
        weights, biases = [np.zeros((n_features, len(out)))], [out]
    else:
        raise ByodError(f"cannot export a {kind} head for serving")
    served = ClassifyHead(
        classes=classes,
        mean=np.asarray(mean, np.float64),
        scale=np.asarray(scale, np.float64),
        weights=[np.asarray(w, np.float64) for w in weights],
        biases=[np.asarray(b, np.float64) for b in biases],
        card={**card, "estimator": kind},
    )
    served._check("exported head")
    return served
