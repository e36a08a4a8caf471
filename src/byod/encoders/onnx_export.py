"""Export a sentence-transformers backbone to ONNX and quantise it to int8 (ONNX Runtime).

New users are embedded on request (``byod serve``), where the text backbone is most of the cost.
The whole sentence-transformers pipeline (transformer → pooling → normalisation) is traced into
one ONNX graph, so the exported model gives the same vectors as the PyTorch one up to rounding;
``onnxruntime.quantization.quantize_dynamic`` then stores the weights as int8.

The export is only *recommended* when it pays: :func:`export_onnx` measures the speed-up on a
sample of texts and the cosine of every int8 vector to its fp32 twin, and writes the verdict into
the folder's ``onnx.json`` (int8 when ≥ ``min_speedup``× faster and every cosine ≥ ``min_cosine``,
else fp32), which :func:`byod.encoders.onnx_backbone.open_onnx_backbone` follows by default.

Layout of an exported folder::

    model.onnx          fp32 graph: (input_ids, attention_mask[, token_type_ids]) -> (n, dim)
    model_int8.onnx     the same graph with int8 weights (dynamic quantisation)
    tokenizer files     saved by the source model's tokenizer
    onnx.json           source fingerprint, prompt, max length, inputs, sha256s, measurements
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from byod.assets.manifest import sha256_file
from byod.atomic import atomic_path, write_json
from byod.errors import ByodError
from byod.vectors import l2_normalise

__all__ = ["OnnxExport", "export_onnx", "read_onnx_manifest", "ONNX_MANIFEST", "VARIANTS"]

ONNX_MANIFEST = "onnx.json"
VARIANTS = {"fp32": "model.onnx", "int8": "model_int8.onnx"}
_OPSET = 17
# Varied lengths, Korean and English: the speed check must see realistic padding.
_SAMPLE_TEXTS = [
    "Toy Story (1995) | Animation, Children's, Comedy",
    "search: wireless noise cancelling headphones under 100 dollars",
    "무선 헤드폰 노이즈 캔슬링 | 전자제품 | 129000 KRW",
    "Star Wars: Episode V - The Empire Strikes Back (1980) | Action, Adventure, Drama, Sci-Fi, War",
    "Watercolor paint set, 48 colours, with brushes and a palette for beginners",
    "오늘 본 영화 정말 재미있었어요 배우들 연기가 최고",
    "Stapler",
    "Office chair with lumbar support, adjustable height, mesh back, black",
]


@dataclasses.dataclass(frozen=True)
class OnnxExport:
    """What :func:`export_onnx` wrote and measured.

    Attributes:
        folder: the exported folder.
        speedup: the faster fp32 runtime's seconds (PyTorch or ONNX) / int8 ONNX seconds on the
            sample (same batch, same threads).
        min_cosine: the smallest cosine between an int8 vector and its PyTorch fp32 twin.
        recommended: ``int8`` or ``fp32``: the variant served by default.
    """

    folder: Path
    speedup: float
    min_cosine: float
    recommended: str


def _traceable(model: Any, input_names: list[str]) -> Any:
    """The sentence-transformers forward pass as a traceable module (token ids → vector)."""
    import torch

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            features = dict(zip(input_names, tensors, strict=True))
            return self.model(features)["sentence_embedding"]

    return Wrapped().eval()


def export_onnx(
    model: Any,
    out_dir: str | Path,
    *,
    source_fingerprint: str,
    prompt: str = "",
    texts: list[str] | None = None,
    min_speedup: float = 1.5,
    min_cosine: float = 0.99,
    repeats: int = 3,
) -> OnnxExport:
    """Export ``model`` (a ``SentenceTransformer``) to fp32 and int8 ONNX in ``out_dir``.

    Args:
        model: the loaded sentence-transformers model (its first module tokenises).
        out_dir: the folder to write (created; files replaced atomically).
        source_fingerprint: the PyTorch backbone's fingerprint, recorded so a deployment can
            check the ONNX model came from the backbone its feature table was built with.
        prompt: prefix put before every text (e5's ``"query: "``).
        texts: texts for the speed and agreement check (default: a built-in mixed sample).
        min_speedup: int8 must be this much faster than the faster fp32 runtime to be recommended.
        min_cosine: every int8 vector must have at least this cosine to its fp32 twin.
        repeats: timing repeats (the best of each is compared).

    Returns:
        The folder and its measurements; ``recommended`` is what serving uses by default.
    """
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = model.tokenizer
    max_length = int(model.max_seq_length or 512)
    sample = [prompt + t for t in (texts or _SAMPLE_TEXTS)]
    batch = tokenizer(
        sample, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    input_names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch]
    wrapped = _traceable(model.cpu(), input_names)
    axes = {name: {0: "batch", 1: "tokens"} for name in input_names}
    with atomic_path(out / VARIANTS["fp32"]) as tmp, torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about Python branches on shapes; the fp32 check on other shapes than
        # the traced one (in _measure) is what shows whether any of them mattered.
        warnings.simplefilter("ignore")
        # The TorchScript exporter: one self-contained file (no external-data sidecar).
        torch.onnx.export(
            wrapped,
            tuple(batch[k] for k in input_names),
            str(tmp),
            input_names=input_names,
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=_OPSET,
            dynamo=False,
        )
    _quantise(out / VARIANTS["fp32"], out / VARIANTS["int8"])
    tokenizer.save_pretrained(str(out))
    # Enough of onnx.json to run the graphs before the real one is written; the sample
    # already carries the prompt.
    draft = {"prompt": "", "max_length": max_length, "inputs": input_names,
             "source_fingerprint": "draft", "files": {}}  # fmt: skip
    figures = _measure(model, out, sample, draft, repeats=repeats)
    # int8 must beat the *faster* fp32 runtime, or the win is only ONNX Runtime's, not int8's.
    speedup = min(figures["torch_fp32_s"], figures["onnx_fp32_s"]) / figures["onnx_int8_s"]
    figures["speedup_int8_vs_best_fp32"] = speedup
    ok = speedup >= min_speedup and figures["min_cosine_int8"] >= min_cosine
    recommended = "int8" if ok else "fp32"
    manifest = {
        "format": "byod-onnx-backbone/1",
        "source_fingerprint": source_fingerprint,
        "prompt": prompt,
        "max_length": max_length,
        "dim": int(figures["dim"]),
        "inputs": input_names,
        "files": {v: {"path": p, "sha256": sha256_file(out / p)} for v, p in VARIANTS.items()},
        "measured": {k: v for k, v in figures.items() if k != "dim"},
        "rule": {"min_speedup": min_speedup, "min_cosine": min_cosine},
        "recommended": recommended,
    }
    write_json(manifest, out / ONNX_MANIFEST)
    return OnnxExport(out, speedup, figures["min_cosine_int8"], recommended)


def _quantise(src: Path, dst: Path) -> None:
    """Dynamic int8 quantisation of the MatMul weights, one scale per output channel.

    Measured on MiniLM (min cosine to fp32 over mixed Korean / English texts): per-tensor scales
    0.89, per-channel over every default op type (embedding Gathers too) 0.983, per-channel
    MatMul only 0.990. Activations stay float (quantised on the fly).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # ONNX Runtime logs a generic "consider pre-processing" hint on the root logger every time.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with atomic_path(dst) as tmp:
            quantize_dynamic(
                str(src),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            )
    finally:
        root.setLevel(level)


def _measure(
    model: Any, folder: Path, texts: list[str], draft: dict[str, Any], *, repeats: int
) -> dict[str, float]:
    """Seconds per pass for PyTorch fp32 and both ONNX variants, and their agreement."""
    from byod.encoders.onnx_backbone import OnnxBackbone

    def best(fn: Any) -> float:
        fn()  # warm-up: first calls allocate
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    ref = np.asarray(model.encode(texts, batch_size=len(texts), convert_to_numpy=True), np.float32)
    torch_s = best(lambda: model.encode(texts, batch_size=len(texts)))
    figures: dict[str, float] = {"dim": ref.shape[1], "torch_fp32_s": torch_s}
    for variant in VARIANTS:
        backbone = OnnxBackbone(folder, variant=variant, _manifest=draft)
        # Batches of 3: other shapes than the traced one, so a shape baked into the graph shows.
        vecs = backbone.encode(texts, batch_size=3)
        figures[f"onnx_{variant}_s"] = best(
            lambda b=backbone: b.encode(texts, batch_size=len(texts))
        )
        figures[f"speedup_{variant}"] = torch_s / figures[f"onnx_{variant}_s"]
        figures[f"min_cosine_{variant}"] = float(_cosines(ref, vecs).min())
    return figures


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two ``(n, dim)`` arrays."""
    return (l2_normalise(a) * l2_normalise(b)).sum(axis=1)


def read_onnx_manifest(folder: str | Path, *, check_hashes: bool = True) -> dict[str, Any]:
    """Read and check an exported folder's ``onnx.json`` (files present, sha256 as recorded)."""
    folder = Path(folder)
    path = folder / ONNX_MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ByodError(
            f"{folder} is not an exported ONNX backbone: {ONNX_MANIFEST} is missing; "
            "create it with `byod models export-onnx NAME --out FOLDER`"
        ) from None
    except ValueError as exc:
        raise ByodError(f"{path} is not valid JSON ({exc}); export the model again") from None
    if manifest.get("format") != "byod-onnx-backbone/1":
        raise ByodError(f"{path}: format {manifest.get('format')!r}, expected byod-onnx-backbone/1")
    for variant, entry in manifest["files"].items():
        file = folder / entry["path"]
        if not file.is_file():
            raise ByodError(
                f"{folder}: the {variant} model {entry['path']} is missing; export again"
            )
        if check_hashes and sha256_file(file) != entry["sha256"]:
            raise ByodError(
                f"{file}: sha256 differs from {ONNX_MANIFEST} (damaged or replaced); export again"
            )
    return manifest
