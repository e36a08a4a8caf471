"""`byod serve --onnx`: the export serves the backbone it came from; other backbones stay PyTorch."""

from sentence_transformers import SentenceTransformer

from byod.assets import backbone_fingerprint
from byod.encoders.onnx_backbone import OnnxBackbone
from byod.encoders.onnx_export import export_onnx
from byod.serve.app import _onnx_or_packaged
from byod.serve.settings import ServeSettings


def test_onnx_export_replaces_only_its_own_backbone(tiny_st_folder, tmp_path):
    fp = backbone_fingerprint(tiny_st_folder)
    model = SentenceTransformer(str(tiny_st_folder), device="cpu")
    export_onnx(model, tmp_path / "onnx", source_fingerprint=fp, texts=["love", "war"], repeats=1)
    settings = ServeSettings(deployment=tmp_path, onnx_dir=tmp_path / "onnx", onnx_variant="int8")
    packaged = []

    def open_packaged(name, models_dir=None):
        packaged.append(name)
        return "pytorch"

    opener = _onnx_or_packaged(open_packaged, settings)
    got = opener(str(tiny_st_folder))
    assert isinstance(got, OnnxBackbone) and got.variant == "int8"
    assert got.source_fingerprint == fp and packaged == []
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text("{}")
    assert opener(str(other)) == "pytorch" and packaged == [str(other)]
