"""A :class:`~byod.encoders.backbone.TextBackbone` served by ONNX Runtime (fp32 or int8).

The folder comes from :func:`byod.encoders.onnx_export.export_onnx`. Vectors match the PyTorch
backbone up to rounding (fp32) or quantisation error (int8, measured at export), so the
fingerprint differs from the source backbone's: an event-text cache never mixes the two.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from byod.errors import ByodError

__all__ = ["OnnxBackbone", "open_onnx_backbone"]


class OnnxBackbone:
    """Encode texts with an exported ONNX graph.

    Args:
        folder: an exported folder (``onnx.json``, ``model.onnx``, ``model_int8.onnx``, tokenizer).
        variant: ``fp32``, ``int8`` or ``auto`` (what the export measured as worth it).
        threads: ONNX Runtime intra-op threads (0: its default, all cores).
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        variant: str = "auto",
        threads: int = 0,
        _manifest: dict[str, Any] | None = None,
    ) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        from byod.encoders.onnx_export import VARIANTS, read_onnx_manifest

        self.folder = Path(folder)
        manifest = _manifest or read_onnx_manifest(self.folder)
        if variant == "auto":
            variant = manifest.get("recommended", "fp32")
        if variant not in VARIANTS:
            raise ByodError(
                f"ONNX variant {variant!r} unknown; expected auto, {', '.join(VARIANTS)}"
            )
        self.variant = variant
        self.prompt = manifest["prompt"]
        self.max_length = int(manifest["max_length"])
        self._inputs = list(manifest["inputs"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(
            str(self.folder / VARIANTS[variant]), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = AutoTokenizer.from_pretrained(str(self.folder), local_files_only=True)
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self.name = f"{self.folder.name}:{variant}"
        self.source_fingerprint = manifest["source_fingerprint"]
        # Different numbers than the source model: a cache key of its own.
        digest = hashlib.sha256(f"{self.source_fingerprint}\tonnx-{variant}".encode())
        self.fingerprint = digest.hexdigest()[:16]

    def encode(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Encode ``texts`` (the prompt prepended) into ``(n, dim)`` float32.

        Texts are batched by length, as sentence-transformers does, so short texts are not
        padded to the longest of the whole call.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._run([self.prompt + texts[i] for i in idx])
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        """One batch through the graph: ``(len(texts), dim)``."""
        enc = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
        )
        feeds = {name: enc[name].astype(np.int64) for name in self._inputs}
        return self._session.run(None, feeds)[0]


def open_onnx_backbone(
    folder: str | Path, *, variant: str = "auto", threads: int = 0
) -> OnnxBackbone:
    """Open an exported folder (see :func:`byod.encoders.onnx_export.export_onnx`)."""
    return OnnxBackbone(folder, variant=variant, threads=threads)
