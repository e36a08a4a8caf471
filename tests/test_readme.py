"""Every example in the README runs: shell lines through the installed CLI, Python blocks exec'd."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(bash|python)\n(.*?)```", README, flags=re.S)
BYOD = Path(sys.executable).with_name("byod")


def _commands() -> list[str]:
    lines = [ln for lang, body in BLOCKS if lang == "bash" for ln in body.splitlines()]
    # `make demo` / `make test` are exercised by CI itself; everything else must run here.
    return [ln.split("#")[0].strip() for ln in lines if ln.strip() and not ln.startswith("make ")]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("out"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_starts_with_the_two_commands() -> None:
    lang, first = BLOCKS[0]
    assert lang == "bash"
    assert [ln.split("#")[0].strip() for ln in first.strip().splitlines()] == [
        "make demo",
        "make test",
    ]


@pytest.mark.slow
def test_readme_shell_examples_run(workdir: Path) -> None:
    commands = _commands()
    assert any(c.startswith("byod data ingest") for c in commands)
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "byod", command
        done = subprocess.run([str(BYOD), *argv[1:]], capture_output=True, text=True, cwd=workdir)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    assert (workdir / "examples/shop/out/histories.parquet").exists()
    assert (workdir / "runs/ml-100k/events.parquet").exists()
    assert (workdir / "runs/ml-1m-logs/ingest.yaml").exists()


def test_readme_python_examples_run(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = [body for lang, body in BLOCKS if lang == "python"]
    assert blocks
    for body in blocks:
        exec(compile(body, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "bad_timestamp" in out and "shopping" in out
