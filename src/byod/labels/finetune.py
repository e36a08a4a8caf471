"""A fine-tuned encoder as a label-audit checker (the slow, stronger option).

Each fit copies the sentence encoder, puts a linear layer on its pooled embedding and trains both
with cross-entropy on the fold's texts. Far costlier than the default (frozen embeddings +
logistic regression): every fold of every split of every round fine-tunes a fresh copy, so use
it on a GPU or on small sets. The sklearn contract lets :func:`byod.labels.audit` use it as is;
its ``x`` is the texts themselves.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from torch import nn

from byod.errors import ByodError, check_fitted
from byod.progress import Progress

__all__ = ["FineTunedChecker"]


class FineTunedChecker:
    """Fine-tune a sentence encoder + linear head; ``predict_proba`` over ``classes_``.

    Args:
        model: a loaded ``SentenceTransformer`` (copied per fit, never changed) or its folder.
        epochs: passes over the training texts.
        batch_size: texts per step.
        lr: AdamW learning rate (encoder and head).
        max_length: tokens kept per text.
        seed: seeds the head and the batch order.
        device: where training runs (default: the model's device).
        progress: report each fit's training steps (epochs x batches).

    """

    def __init__(
        self,
        model: SentenceTransformer | str | Path,
        *,
        epochs: int = 2,
        batch_size: int = 16,
        lr: float = 5e-5,
        max_length: int = 128,
        seed: int = 0,
        device: str | None = None,
        progress: bool = False,
    ) -> None:
        self.model = model
        self.progress = progress
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_length = max_length
        self.seed = seed
        self.device = device

    def _base(self) -> SentenceTransformer:
        if isinstance(self.model, SentenceTransformer):
            return copy.deepcopy(self.model)
        return SentenceTransformer(str(self.model), device=self.device or "cpu")

    def _logits(self, texts: list[str]) -> torch.Tensor:
        features = self.encoder_.preprocess(texts)
        device = self.encoder_.device
        features = {k: v.to(device) for k, v in features.items() if torch.is_tensor(v)}
        pooled = self.encoder_(features)["sentence_embedding"]
        return self.head_(pooled)

    def fit(self, texts: np.ndarray, y: np.ndarray) -> FineTunedChecker:
        """Train on ``texts`` ``(n,)`` str with labels ``y`` ``(n,)``."""
        texts = _as_texts(texts)
        self.classes_, target = np.unique(np.asarray(y), return_inverse=True)
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.encoder_ = self._base()
        if self.device:
            self.encoder_.to(self.device)
        self.encoder_.max_seq_length = self.max_length
        dim = self.encoder_.get_embedding_dimension()
        self.head_ = nn.Linear(dim, len(self.classes_)).to(self.encoder_.device)
        params = [*self.encoder_.parameters(), *self.head_.parameters()]
        opt = torch.optim.AdamW(params, lr=self.lr)
        labels = torch.as_tensor(target, device=self.encoder_.device)
        self.encoder_.train()
        steps = self.epochs * -(-len(texts) // self.batch_size)
        bar = Progress(steps, "fine-tune checker", "step", enabled=self.progress)
        for _ in range(self.epochs):
            order = rng.permutation(len(texts))
            for start in range(0, len(texts), self.batch_size):
                idx = order[start : start + self.batch_size]
                loss = nn.functional.cross_entropy(
                    self._logits([texts[i] for i in idx]), labels[idx]
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
                bar.update(1)
        bar.close()
        self.encoder_.eval()
        return self

    @torch.no_grad()
    def predict_proba(self, texts: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_classes)``."""
        check_fitted(self, "head_")
        texts = _as_texts(texts)
        out = [
            torch.softmax(self._logits(texts[s : s + 64]), dim=1).cpu().numpy()
            for s in range(0, len(texts), 64)
        ]
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)))

    def predict(self, texts: np.ndarray) -> np.ndarray:
        """The most probable class per text."""
        return self.classes_[self.predict_proba(texts).argmax(axis=1)]


def _as_texts(texts: np.ndarray) -> list[str]:
    texts = list(np.asarray(texts, dtype=object))
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise ByodError(f"the fine-tuned checker needs non-empty texts; rows {bad[:5]} are not")
    return texts
