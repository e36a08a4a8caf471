import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import polars as pl
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from tune_synthetic import make_table
from typer.testing import CliRunner

from byod.cli.main import app
from byod.serve.heads import ClassifyHead

SRC = Path(__file__).resolve().parents[2] / "src"


def _tune(tmp_path: Path, *extra: str) -> list[str]:
    features, labels = make_table(tmp_path, n=100)
    return ["tune", "head", "--features", str(features), "--labels", str(labels), "--out",
            str(tmp_path / "study"), *extra]  # fmt: skip


def test_tune_head_end_to_end(tmp_path) -> None:
    res = CliRunner().invoke(
        app, _tune(tmp_path, "--task", "age", "--n-trials", "5", "--sampler", "random")
    )
    assert res.exit_code == 0, res.output
    study = tmp_path / "study"
    best = json.loads((study / "best_params.json").read_text())
    assert best["metric"] == "accuracy" and best["n_trials"] == 5
    assert pl.read_parquet(study / "trials.parquet").height == 5
    head = ClassifyHead.load(study / "head")
    assert head.card["tuning"]["study"] == "head-age-logistic"
    assert head.card["tuning"]["trial"] == best["trial"]
    assert set(head.card["default_metrics"]) == set(head.card["metrics"])
    page = (study / "tuning.html").read_text()
    assert "data:image/png;base64," in page and "http" not in page  # self-contained
    assert "## Tuning" in (study / "tuning.md").read_text()


def test_sqlite_storage_and_timeout(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    res = CliRunner().invoke(
        app, _tune(tmp_path, "--task", "gender", "--n-trials", "3", "--storage", url)
    )
    assert res.exit_code == 0, res.output
    assert len(optuna.load_study(study_name="head-gender-logistic", storage=url).trials) == 3


def test_dashboard_without_the_extra_is_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # import fails
    res = CliRunner().invoke(app, ["tune", "dashboard", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "pip install 'byod[dashboard]'" in res.output
    assert len(res.output.strip().splitlines()) <= 2


def _finished(journal: Path) -> list[optuna.trial.FrozenTrial]:
    if not journal.exists():
        return []
    try:
        study = optuna.load_study(
            study_name="head-gender-mlp", storage=JournalStorage(JournalFileBackend(str(journal)))
        )
    except KeyError:  # the study is not written yet
        return []
    return study.get_trials(
        states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    )


@pytest.mark.slow  # two CLI processes (imports dominate: ~20 s each on a loaded machine)
def test_kill_9_then_the_study_continues(tmp_path) -> None:
    """A `byod tune` killed mid-study keeps its finished trials; the next run does the rest."""
    n_trials = 30  # a trial takes ~0.1 s: 6 trials could all finish between two polls
    space = tmp_path / "space.yaml"  # small MLPs: a trial takes a fraction of a second
    space.write_text(
        "head: mlp\ncv: 2\nparams:\n  hidden: {type: int, low: 4, high: 16}\n"
        "  epochs: {type: int, low: 30, high: 60}\n  alpha: {type: float, low: 1.0e-4, high: 1.0, log: true}\n"
    )
    trials = ("--n-trials", str(n_trials), "--space", str(space))
    args = _tune(tmp_path, "--task", "gender", "--head", "mlp", *trials)
    cmd = [sys.executable, "-c", "from byod.cli.main import app; app()", *args]
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = tmp_path / "study" / "journal.log"
    deadline = time.monotonic() + 120
    while len(_finished(journal)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {t.number: t.params for t in _finished(journal)}
    assert 2 <= len(before) < n_trials, "the study should have been killed midway"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after = _finished(journal)
    assert len(after) == n_trials
    assert {t.number: t.params for t in after if t.number in before} == before


def test_sqlite_with_parallel_workers_warns(tmp_path) -> None:
    from byod.tune.study import open_storage

    with pytest.warns(UserWarning, match="SQLite serialises writes"):
        open_storage(tmp_path, f"sqlite:///{tmp_path / 's.db'}", n_jobs=2)
