"""``byod text``: every user mistake is one line on stderr and exit code 2 (no traceback)."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from byod.cli.main import app

runner = CliRunner()


@pytest.fixture()
def labelled(tmp_path):
    path = tmp_path / "reviews.csv"
    pl.DataFrame({"text": ["fun film", "dull plot"], "label": ["good", "bad"]}).write_csv(path)
    return path


def _one_line_error(out) -> str:  # noqa: ANN001
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output and len(out.output.strip().splitlines()) == 1, out.output
    return out.output


def test_no_task_says_where_it_looked(tmp_path, labelled) -> None:
    out = runner.invoke(app, ["text", "augment", str(labelled), "--out", str(tmp_path / "o.csv")])
    line = " ".join(_one_line_error(out).split())
    assert "no --task given" in line and "reviews.task.yaml" in line and "task.yaml" in line
    assert "rotten-tomatoes" in line  # the packaged choices are named, none is assumed
    out = runner.invoke(app, ["text", "generate", "--out", str(tmp_path / "o.csv")])
    assert "no --task given" in _one_line_error(out)


def test_a_task_file_next_to_the_data_is_used_and_said(tmp_path, labelled) -> None:
    (tmp_path / "task.yaml").write_text("text_type: review\nlabel_type: verdict\n")
    out = runner.invoke(
        app, ["text", "augment", str(labelled), "--out", str(tmp_path / "o.csv"), "--llm", "none"]
    )
    assert f"task: {tmp_path / 'task.yaml'} (found next to reviews.csv)" in " ".join(
        out.output.split()
    )
    assert "this command needs an LLM" in out.output and out.exit_code == 2


def test_bad_budgets_and_metric_are_one_line(tmp_path, labelled) -> None:
    base = ["text", "curve", str(labelled), "--test", str(labelled), "--out", str(tmp_path / "c"),
            "--task", "rotten-tomatoes", "--llm", "none"]  # fmt: skip
    assert "integers >= 1" in _one_line_error(runner.invoke(app, [*base, "--budgets", "two,4"]))
    assert "integers >= 1" in _one_line_error(runner.invoke(app, [*base, "--budgets", "0"]))
    assert "choose auto or one of" in _one_line_error(runner.invoke(app, [*base, "--metric", "f2"]))


def test_a_prompt_example_outside_the_label_set_is_one_line(tmp_path, labelled) -> None:
    out = runner.invoke(
        app,
        ["text", "pseudolabel", str(labelled), "--out", str(tmp_path / "o.csv"), "--task",
         "rotten-tomatoes", "--labels", "fresh,rotten", "--examples", str(labelled)],
    )  # fmt: skip
    assert "is not in the task's label set" in _one_line_error(out)


def test_an_unknown_pool_selector_is_one_line(tmp_path, labelled, tiny_st_folder, monkeypatch):
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    out = runner.invoke(
        app,
        ["text", "train", str(labelled), "--out", str(tmp_path / "m"), "--pool", str(labelled),
         "--select", "magic", "--task", "rotten-tomatoes", "--llm", "none", "--backbone",
         str(tiny_st_folder)],
    )  # fmt: skip
    assert "pool selector 'magic' is unknown" in _one_line_error(out)
