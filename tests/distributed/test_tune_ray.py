"""``byod tune head --backend ray``: Ray Tune runs the study's trials with Optuna's sampler."""

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from byod.atomic import write_parquet
from byod.cli.main import app
from byod.features.blocks import BlockLayout
from byod.features.table import write_feature_table
from byod.tune.headstudy import HeadStudy, tune_head
from byod.tune.space import parse_space

pytestmark = pytest.mark.ray

SPACE = {"head": "logistic", "cv": 2, "params": {
    "C": {"type": "float", "low": 1e-2, "high": 10.0, "log": True}, "blocks": {"type": "subset"}}}  # fmt: skip


def _data(n: int = 80) -> tuple[np.ndarray, np.ndarray, BlockLayout]:
    rng = np.random.default_rng(0)
    signal, noise = rng.normal(size=(n, 3)), rng.normal(size=(n, 4))
    y = np.where(signal[:, 0] + 0.5 * rng.normal(size=n) > 0, "F", "M")
    layout = BlockLayout.build([("signal", "signal", 3, ()), ("noise", "noise", 4, ())])
    return np.concatenate([signal, noise], axis=1), y, layout


def test_ray_trials_land_in_the_same_study_and_outputs(ray_cluster, tmp_path) -> None:
    X, y, layout = _data()  # noqa: N806
    space = parse_space(SPACE, "logistic")
    ray_cfg = HeadStudy(task="gender", n_trials=4, sampler="random", backend="ray", workers=2)
    res = tune_head(X, y, layout, space, tmp_path, ray_cfg)
    trials = pl.read_parquet(tmp_path / "trials.parquet")
    assert trials.height == 4 and set(trials["state"]) <= {"COMPLETE", "PRUNED"}
    done = trials.filter(pl.col("state") == "COMPLETE")
    assert done.height >= 1 and done["attr_cv_std"].null_count() == 0  # attrs from the workers
    best = json.loads((tmp_path / "best_params.json").read_text())
    assert best["n_trials"] == 4 and best["value"] == pytest.approx(done["value"].max())
    assert set(best["params"]) == {"C", "blocks"} and res.test["auroc"] > 0.5
    before = trials.select("number", "value")
    # the same study continues locally: the Ray trials are kept, two more are added
    local = HeadStudy(task="gender", n_trials=6, sampler="random")
    tune_head(X, y, layout, space, tmp_path, local)
    after = pl.read_parquet(tmp_path / "trials.parquet")
    assert after["number"].to_list() == list(range(6))
    assert after.head(4).select("number", "value").equals(before)


def test_tune_head_cli_with_the_ray_backend(ray_cluster, tmp_path) -> None:
    X, y, layout = _data()  # noqa: N806
    ids = [f"u{i}" for i in range(len(y))]
    features = pl.DataFrame(
        {"user_id": ids, "vector": X[:, :3].astype(np.float32)},
        schema={"user_id": pl.String, "vector": pl.Array(pl.Float32, 3)},
    )
    write_feature_table(features, tmp_path / "features", {"objective": "synthetic"},
                        blocks={"noise": (X[:, 3:].astype(np.float32), ())})  # fmt: skip
    write_parquet(
        pl.DataFrame({"user_id": ids, "task": ["gender"] * len(ids), "label": list(y)}),
        tmp_path / "labels.parquet",
    )
    res = CliRunner().invoke(app, [
        "tune", "head", "--features", str(tmp_path / "features"), "--labels",
        str(tmp_path / "labels.parquet"), "--task", "gender", "--n-trials", "3", "--sampler",
        "random", "--backend", "ray", "--workers", "2", "--out", str(tmp_path / "study"),
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert pl.read_parquet(tmp_path / "study" / "trials.parquet").height == 3
    assert (tmp_path / "study" / "head" / "card.json").exists()
    assert (tmp_path / "study" / "tuning.json").exists()
