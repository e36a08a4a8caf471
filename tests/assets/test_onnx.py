"""ONNX export of a backbone: same vectors as PyTorch (fp32), close ones (int8), checked files."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from byod.cli.main import app
from byod.encoders.onnx_backbone import OnnxBackbone
from byod.encoders.onnx_export import ONNX_MANIFEST, export_onnx, read_onnx_manifest
from byod.errors import ByodError

TEXTS = ["action drama item 3", "love", "space war kids music crime item 12 item 7", "comedy"]


@pytest.fixture(scope="module")
def exported(tiny_st_folder, tmp_path_factory):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_st_folder), device="cpu")
    out = tmp_path_factory.mktemp("onnx")
    result = export_onnx(model, out, source_fingerprint="abc123", texts=TEXTS, repeats=1)
    return model, result


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_fp32_matches_pytorch_on_new_shapes(exported):
    model, result = exported
    # Other texts and batch sizes than the traced ones: dynamic axes must really be dynamic.
    texts = ["item 1", "horror horror horror space love war item 29 item 28 drama", "kids"] * 3
    ref = model.encode(texts, convert_to_numpy=True)
    got = OnnxBackbone(result.folder, variant="fp32").encode(texts, batch_size=4)
    assert got.shape == ref.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_int8_close_to_fp32_and_manifest_records_the_verdict(exported):
    model, result = exported
    ref = model.encode(TEXTS, convert_to_numpy=True)
    got = OnnxBackbone(result.folder, variant="int8").encode(TEXTS)
    assert _cos(ref, got).min() > 0.9  # a 16-d random model: loose; MiniLM is checked in bench
    manifest = read_onnx_manifest(result.folder)
    assert manifest["source_fingerprint"] == "abc123"
    assert manifest["recommended"] == result.recommended
    assert result.recommended in {"fp32", "int8"}
    measured = manifest["measured"]
    ok = measured["speedup_int8_vs_best_fp32"] >= 1.5 and measured["min_cosine_int8"] >= 0.99
    assert result.recommended == ("int8" if ok else "fp32")
    auto = OnnxBackbone(result.folder)
    assert auto.variant == result.recommended
    # A fingerprint of its own: a vector cache never mixes ONNX and PyTorch vectors.
    assert auto.fingerprint != "abc123"
    assert (
        OnnxBackbone(result.folder, variant="fp32").fingerprint
        != OnnxBackbone(result.folder, variant="int8").fingerprint
    )


def test_damaged_or_missing_export_is_a_clear_error(exported, tmp_path):
    _, result = exported
    with pytest.raises(ByodError, match="onnx.json is missing"):
        read_onnx_manifest(tmp_path)
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in result.folder.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    (copy / "model_int8.onnx").write_bytes(b"not a model")
    with pytest.raises(ByodError, match="sha256 differs"):
        read_onnx_manifest(copy)
    manifest = json.loads((copy / ONNX_MANIFEST).read_text())
    with pytest.raises(ByodError, match="variant 'int4' unknown"):
        OnnxBackbone(result.folder, variant="int4")
    assert manifest["format"] == "byod-onnx-backbone/1"


def test_cli_export_onnx(tiny_st_folder, tmp_path):
    result = CliRunner().invoke(
        app, ["models", "export-onnx", str(tiny_st_folder), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / ONNX_MANIFEST).is_file()
    assert str(tmp_path / "o") in result.stdout
    missing = CliRunner().invoke(
        app, ["models", "export-onnx", str(tmp_path / "nope"), "--out", str(tmp_path / "p")]
    )
    assert missing.exit_code == 2


def test_a_model_accepts_the_onnx_export_of_its_backbone(tiny_st_folder, tmp_path, events):
    """The check is on the weights (source fingerprint); the vector cache key stays distinct."""
    from sentence_transformers import SentenceTransformer

    from byod.assets import backbone_fingerprint
    from byod.encoders.backbone import SentenceTransformerBackbone, weights_fingerprint
    from byod.encoders.user import UserEncoder, UserEncoderConfig

    fp = backbone_fingerprint(tiny_st_folder)
    model = SentenceTransformer(str(tiny_st_folder), device="cpu")
    torch_bb = SentenceTransformerBackbone(model, "tiny", fp)
    export_onnx(model, tmp_path / "onnx", source_fingerprint=fp, texts=TEXTS, repeats=1)
    onnx_bb = OnnxBackbone(tmp_path / "onnx", variant="fp32")
    assert weights_fingerprint(onnx_bb) == fp != onnx_bb.fingerprint
    cfg = UserEncoderConfig(backbone="tiny", backbone_fingerprint=fp, mode="mean")
    new_users = events.filter(events["user_id"].is_in(["u1", "u2", "u3"]))
    want = UserEncoder(cfg, torch_bb, None).encode_events(new_users)
    got = UserEncoder(cfg, onnx_bb, None).encode_events(new_users)
    assert got["user_id"].to_list() == want["user_id"].to_list()
    np.testing.assert_allclose(got["vector"].to_numpy(), want["vector"].to_numpy(), atol=1e-5)
    other = UserEncoderConfig(backbone="tiny", backbone_fingerprint="0" * 16, mode="mean")
    with pytest.raises(ByodError, match="trained with"):
        UserEncoder(other, onnx_bb, None)
