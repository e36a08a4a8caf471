"""The run report's "Tuning" section: shown for studies in RUN/tuning/ or --tuning, absent else."""

import json
import re
from pathlib import Path

import pytest
from tune_synthetic import make_table
from typer.testing import CliRunner

from byod.cli.main import app
from byod.layout import RunLayout
from byod.report import build_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _study(tmp_path: Path, out: Path, task: str = "gender") -> None:
    features, labels = make_table(tmp_path / "data", n=100)
    args = ["tune", "head", "--features", str(features), "--labels", str(labels), "--task", task,
            "--n-trials", "4", "--sampler", "random", "--out", str(out)]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def run_with_study(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("tuned")
    run = tmp / "run"
    _study(tmp, RunLayout(run).tuning_study("gender"))
    return run


def test_report_of_a_run_with_a_study_has_the_section(run_with_study) -> None:
    paths = build_report(run_with_study, n_clusters=2)
    md = paths.markdown.read_text(encoding="utf-8")
    page = paths.html.read_text(encoding="utf-8")
    assert "## Tuning" in md and "id='tuning'" in page and "<a href='#tuning'>" in page
    folder = RunLayout(run_with_study).tuning_study("gender")
    summary = json.loads((folder / "tuning.json").read_text())
    best = summary["best"]
    # the best trial next to the defaults: test metrics side by side, then the parameters
    assert "| metric (test users) | defaults | tuned | tuned − defaults |" in md
    default, tuned = summary["defaults"]["test"]["auroc"], summary["tuned"]["auroc"]
    row = next(line for line in md.splitlines() if line.startswith("| auroc |"))
    assert (
        row.replace("*", "") == f"| auroc | {default:.4f} | {tuned:.4f} | {tuned - default:+.4f} |"
    )
    assert f"| parameter | defaults | best trial ({best['trial']}) |" in md
    assert "| blocks | learned + svd + aggregates |" in md  # the default: every block
    names = re.findall(r"!\[[^\]]*\]\((tuning-[^)]+)\)", md)
    assert names == ["tuning-0-gender-history.png", "tuning-0-gender-importances.png"]
    for name in names:
        assert (paths.markdown.parent / name).read_bytes()[:8] == PNG_MAGIC
    assert f"data-figures-expected='{page.count('<img ')}'" in page
    assert not any("tuning" in m for m in paths.missing)


def test_report_without_a_study_has_no_tuning_section(tmp_path) -> None:
    (tmp_path / "run").mkdir()
    paths = build_report(tmp_path / "run", n_clusters=2)
    md = paths.markdown.read_text(encoding="utf-8")
    assert "Tuning" not in md.replace("the Tuning section", "")  # only the how-to mentions it
    assert "id='tuning" not in paths.html.read_text(encoding="utf-8")
    assert not any("tuning" in m for m in paths.missing)


def test_report_cli_takes_a_study_from_elsewhere(tmp_path, run_with_study) -> None:
    study = tmp_path / "elsewhere" / "age-study"
    _study(tmp_path, study, task="age")
    out = tmp_path / "report"
    res = CliRunner().invoke(
        app, ["report", str(run_with_study), "--out", str(out), "--tuning", str(study),
              "--clusters", "2"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.index("### gender (logistic)") < md.index("### age (logistic)")  # run's, then extra
    assert "| accuracy |" in md  # age has three classes: accuracy, not AUROC


def test_an_unfinished_study_is_noted_not_shown(tmp_path) -> None:
    folder = RunLayout(tmp_path / "run").tuning_study("killed")
    folder.mkdir(parents=True)
    (folder / "best_params.json").write_text("{}")
    paths = build_report(tmp_path / "run", n_clusters=2)
    assert any("killed: no tuning.json" in m for m in paths.missing)
    assert "## Tuning" not in paths.markdown.read_text(encoding="utf-8")
