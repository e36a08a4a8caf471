"""The text backbone behind event texts: anything that maps strings to fixed-size vectors.

byod needs three things from a backbone: ``encode(texts) -> (n, dim)`` float32, its ``dim`` and a
``fingerprint`` that changes whenever its weights or tokenizer change (the event-text cache is
keyed by it). :class:`SentenceTransformerBackbone` adapts a sentence-transformers model; tests use
tiny in-memory models through the same adapter.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["TextBackbone", "SentenceTransformerBackbone", "open_backbone", "weights_fingerprint"]


class TextBackbone(Protocol):
    """Maps texts to vectors; ``fingerprint`` identifies the exact weights."""

    name: str
    fingerprint: str
    dim: int

    def encode(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Return ``(len(texts), dim)`` float32 vectors."""
        ...


class SentenceTransformerBackbone:
    """A sentence-transformers model as a :class:`TextBackbone`.

    Args:
        model: the loaded model.
        name: a display name (``e5-small``, a folder path, ...).
        fingerprint: a hash of the weights; computed from the parameters when omitted.
        prompt: prefix for every text (e5 expects ``"query: "``).
    """

    def __init__(
        self,
        model: SentenceTransformer,
        name: str,
        fingerprint: str | None = None,
        prompt: str = "",
    ) -> None:
        self.model = model
        self.name = name
        self.prompt = prompt
        # sentence-transformers >= 6 renamed the method; older releases only have the old name.
        get_dim = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())
        self.fingerprint = fingerprint or _parameter_hash(model, prompt)

    def encode(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Encode ``texts`` (the prompt prepended) into ``(n, dim)`` float32, unnormalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self.model.encode(
            [self.prompt + t for t in texts],
            batch_size=batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
        )
        return np.asarray(out, dtype=np.float32)


def _parameter_hash(model: SentenceTransformer, prompt: str) -> str:
    """Hash of every parameter tensor plus the prompt (for models with no files on disk)."""
    h = hashlib.sha256(prompt.encode())
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def open_backbone(
    name: str, *, models_dir: str | Path | None = None, device: str | None = None
) -> TextBackbone:
    """Load a packaged backbone by name (``e5-small``, ``minilm``) or a local folder path."""
    from byod.assets import backbone_fingerprint, backbone_prompt, load_backbone

    model = load_backbone(name, models_dir=models_dir, device=device)
    return SentenceTransformerBackbone(
        model, name, backbone_fingerprint(name, models_dir=models_dir), backbone_prompt(name)
    )


def weights_fingerprint(backbone: TextBackbone) -> str:
    """The fingerprint of the weights behind ``backbone``, for checking it is the trained one.

    A runtime over the same weights (an ONNX export, :mod:`byod.encoders.onnx_backbone`) keeps
    a ``fingerprint`` of its own, so a text-vector cache never mixes its vectors with PyTorch's,
    and names the weights it came from in ``source_fingerprint``: that is what a model or a
    deployment checks.
    """
    return str(getattr(backbone, "source_fingerprint", backbone.fingerprint))
