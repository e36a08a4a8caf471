import json

import numpy as np
import polars as pl
from typer.testing import CliRunner

from byod.atomic import write_parquet
from byod.cli.main import app
from byod.data.serialize import SerializeConfig, write_histories


def test_tune_pretrain_end_to_end_with_resume_pruned(
    histories, tiny_st_folder, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    write_histories(histories, tmp_path / "h.parquet", SerializeConfig(max_events=32))
    users = sorted(histories["user_id"].unique().to_list())
    labels = pl.DataFrame({"user_id": users, "task": "t",
                           "label": np.random.default_rng(0).choice(["a", "b"], len(users))})  # fmt: skip
    write_parquet(labels, tmp_path / "l.parquet")
    space = tmp_path / "space.yaml"
    space.write_text("epochs: 3\nparams:\n  lr: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}\n"
                     "  batch_size: {type: categorical, choices: [8, 16]}\n")  # fmt: skip
    args = ["tune", "pretrain", "--histories", str(tmp_path / "h.parquet"), "--labels",
            str(tmp_path / "l.parquet"), "--task", "t", "--out", str(tmp_path / "s"), "--space",
            str(space), "--backbone", str(tiny_st_folder), "--device", "cpu", "--n-trials", "5"]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    best = json.loads((tmp_path / "s" / "best_params.json").read_text())
    assert best["metric"] == "auroc" and set(best["params"]) == {"lr", "batch_size"}
    assert (tmp_path / "s" / "tuning.html").exists()
    trials = pl.read_parquet(tmp_path / "s" / "trials.parquet")
    assert trials.height == 5
    res = CliRunner().invoke(app, [*args, "--resume-pruned", "1"])
    assert res.exit_code == 0, res.output
    # Pruned before the last epoch: something left to train, so it can be resumed.
    resumable = trials.filter((pl.col("state") == "PRUNED") & (pl.col("n_reports") < 3)).height
    assert pl.read_parquet(tmp_path / "s" / "trials.parquet").height == 5 + min(resumable, 1)


def test_tune_pretrain_labels_without_task_exits_2(histories, tmp_path) -> None:
    write_histories(histories, tmp_path / "h.parquet", SerializeConfig(max_events=32))
    args = ["tune", "pretrain", "--histories", str(tmp_path / "h.parquet"), "--labels",
            str(tmp_path / "l.parquet"), "--out", str(tmp_path / "s")]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    assert "--labels and --task go together" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_tune_pretrain_defaults_row_in_the_report(
    histories, tiny_st_folder, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    write_histories(histories, tmp_path / "h.parquet", SerializeConfig(max_events=32))
    space = tmp_path / "space.yaml"
    space.write_text("epochs: 2\nbase: {objective: next-item, item_ids: hashed,"
                     " encoder: {dim: 16, out_dim: 8, heads: 2}}\n"
                     "params:\n  lr: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}\n")  # fmt: skip
    args = ["tune", "pretrain", "--histories", str(tmp_path / "h.parquet"), "--out",
            str(tmp_path / "s"), "--space", str(space), "--backbone", str(tiny_st_folder),
            "--device", "cpu", "--n-trials", "2", "--pruner", "none", "--defaults"]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "defaults: probe mrr" in res.output
    summary = json.loads((tmp_path / "s" / "tuning.json").read_text())
    assert summary["defaults"]["users"] == "probe users"
    assert set(summary["tuned"]) == {"mrr"} and set(summary["defaults"]["test"]) == {"mrr"}
