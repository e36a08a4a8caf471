"""Every example in the README runs, in document order: shell lines through the installed CLI,
Python blocks exec'd in the same working directory."""

from __future__ import annotations

import os
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


def _commands(body: str) -> list[str]:
    lines = [ln.split("#")[0].strip() for ln in body.splitlines()]
    # `make demo` / `make test` are exercised by CI itself; everything else must run here.
    return [ln for ln in lines if ln and not ln.startswith("make ")]


def _run(argv: list[str], env: dict, background: list[subprocess.Popen]) -> None:
    """Run one README line: `byod ...` or `curl ...`; a trailing `&` starts it in the background
    (a server, stopped when the test ends)."""
    assert argv[0] in ("byod", "curl"), argv
    exe = str(BYOD) if argv[0] == "byod" else shutil.which("curl")
    if argv[-1] == "&":
        background.append(
            subprocess.Popen([exe, *argv[1:-1]], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        )  # fmt: skip
        return
    done = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, env=env)
    assert done.returncode == 0, f"{shlex.join(argv)}\n{done.stdout}\n{done.stderr}"


def test_readme_starts_with_the_two_commands() -> None:
    lang, first = BLOCKS[0]
    assert lang == "bash"
    commands = [ln.split("#")[0].strip() for ln in first.strip().splitlines()]
    assert commands == ["make demo", "make test"]


@pytest.mark.slow
def test_readme_examples_run_in_order(tmp_path: Path, monkeypatch, capsys) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("out"))
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "BYOD_HOME": str(tmp_path / ".cache")}
    ran, background = [], []
    try:
        for lang, body in BLOCKS:
            if lang == "python":
                exec(compile(body, "README.md", "exec"), {})
                ran.append("python")
                continue
            for command in _commands(body):
                argv = shlex.split(command)
                _run(argv, env, background)
                ran.append(" ".join(argv[:3]))
    finally:
        for proc in background:
            proc.terminate()
            proc.wait(timeout=30)
    assert (
        "byod data ingest" in ran
        and "byod pretrain --histories" in ran
        and ran.count("python") == 3
    )
    out = capsys.readouterr().out
    assert "bad_timestamp" in out and "shopping" in out
    assert "NSMC, 4 labels per class:" in out or "skipped the Korean example:" in out
    assert (
        tmp_path / "runs/ml-100k/features/v0002/features.parquet"
    ).exists()  # new users' version
    assert "byod transfer classify" in ran and "byod transfer recommend" in ran
    results = tmp_path / "runs/ml-100k/transfer"
    assert (results / "classify.parquet").exists() and (results / "recommend.parquet").exists()
    assert (tmp_path / "runs/ml-100k/report/index.html").exists()
    assert "byod text train" in ran and "byod text predict" in ran
    pseudo = (tmp_path / "runs/reviews/pseudo.csv").read_text().splitlines()
    assert (
        pseudo[0].startswith("text,label,confidence,prob_positive,prob_negative")
        and len(pseudo) == 9
    )
    assert (tmp_path / "runs/reviews/classifier/classifier.json").exists()
    assert len((tmp_path / "runs/reviews/predictions.csv").read_text().splitlines()) == 9
    assert "byod serve runs/ml-100k/deploy" in ran and ran.count("curl -sf -H") == 9
    assert (tmp_path / "runs/ml-100k/deploy/deployment.json").exists()
