"""load_backbone / backbone_fingerprint / backbone_prompt by packaged name or folder path."""

import json
import os
import shutil

import numpy as np
import pytest

from byod.assets import backbone_fingerprint, backbone_prompt, install, load_backbone
from byod.errors import ByodError


def test_load_installs_on_first_use_offline(fake_packages, cache, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    model = load_backbone("e5-small", models_dir=cache, device="cpu")
    assert (cache / "e5-small" / "byod_manifest.json").exists()
    # No side effect on the process: the library never flips the hub switches itself.
    assert "HF_HUB_OFFLINE" not in os.environ and "TRANSFORMERS_OFFLINE" not in os.environ
    v = model.encode(["hello world"], prompt_name="query")
    assert v.shape == (1, 8) and np.isclose(np.linalg.norm(v), 1.0, atol=1e-5)


def test_a_local_folder_is_a_backbone(tiny_st_folder) -> None:
    model = load_backbone(tiny_st_folder, device="cpu")
    assert model.encode(["drama love"]).shape == (1, 16)
    assert backbone_prompt(tiny_st_folder) == ""


def test_neither_a_name_nor_a_folder(tmp_path) -> None:
    with pytest.raises(ByodError, match="neither a packaged backbone.*byod models list"):
        load_backbone(tmp_path)
    with pytest.raises(ByodError, match="neither a packaged backbone"):
        backbone_fingerprint("e5-large")


def test_fingerprint_is_stable_and_location_free(fake_packages, cache, tmp_path) -> None:
    folder = install("e5-small", cache)
    fp = backbone_fingerprint("e5-small", models_dir=cache)
    assert len(fp) == 16 and fp == backbone_fingerprint("e5-small", models_dir=cache)
    assert backbone_fingerprint(folder) == fp  # by name or by path
    copy = shutil.copytree(folder, tmp_path / "copy")
    (copy / "byod_manifest.json").unlink()
    (copy / "README.md").write_text("notes do not change the model")
    assert backbone_fingerprint(copy) == fp  # hashed from the files themselves: same value


def test_fingerprint_changes_with_weights_or_config(fake_packages, cache, tmp_path) -> None:
    folder = install("e5-small", cache)
    fp = backbone_fingerprint(folder)
    copy = shutil.copytree(folder, tmp_path / "copy")
    (copy / "byod_manifest.json").unlink()
    cfg = json.loads((copy / "config_sentence_transformers.json").read_text())
    cfg["prompts"]["query"] = "search_query: "
    (copy / "config_sentence_transformers.json").write_text(json.dumps(cfg))
    assert backbone_fingerprint(copy) != fp
    assert backbone_prompt(copy) == "search_query: "


def test_prompts(fake_packages, cache, tmp_path) -> None:
    assert backbone_prompt("e5-small") == "query: "
    assert backbone_prompt("minilm") == ""
    folder = shutil.copytree(install("e5-small", cache), tmp_path / "e5-default-prompt")
    cfg = json.loads((folder / "config_sentence_transformers.json").read_text())
    cfg["default_prompt_name"] = "query"  # encode() adds it itself: nothing to prepend
    (folder / "config_sentence_transformers.json").write_text(json.dumps(cfg))
    assert backbone_prompt(folder) == ""
