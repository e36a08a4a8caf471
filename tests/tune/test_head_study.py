import json

import numpy as np
import optuna
import polars as pl
import pytest
from tune_synthetic import make_table

from byod.features.table import read_feature_table
from byod.transfer.classify import task_labels
from byod.tune.headstudy import HeadStudy, select_blocks, tune_head
from byod.tune.space import default_space, parse_space


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tbl")
    features, labels = make_table(root, n=120)
    table = read_feature_table(features)
    X, layout = table.matrix()
    rows, y = task_labels(pl.read_parquet(labels), "gender", table.user_ids)
    return X[rows], y, layout


def test_same_seed_same_best_params(data, tmp_path) -> None:
    X, y, layout = data
    cfg = HeadStudy(task="gender", n_trials=6, seed=3)
    a = tune_head(X, y, layout, default_space("logistic"), tmp_path / "a", cfg)
    b = tune_head(X, y, layout, default_space("logistic"), tmp_path / "b", cfg)
    assert a.best["params"] == b.best["params"] and a.best["value"] == b.best["value"]
    c = tune_head(
        X,
        y,
        layout,
        default_space("logistic"),
        tmp_path / "c",
        HeadStudy(task="gender", n_trials=6, seed=4),
    )
    assert c.best["params"] != a.best["params"]


def test_test_users_never_inform_the_search(data, tmp_path) -> None:
    """Replacing the test users' features by noise changes nothing the study sees, only the
    test scores (the split depends on the labels alone, so it stays the same)."""
    X, y, layout = data
    cfg = HeadStudy(task="gender", n_trials=4, seed=0, sampler="random")
    a = tune_head(X, y, layout, default_space("logistic"), tmp_path / "a", cfg)
    from sklearn.model_selection import train_test_split

    _, test = train_test_split(np.arange(len(y)), test_size=0.2, random_state=0, stratify=y)
    X2 = X.copy()  # noqa: N806
    X2[test] = np.random.default_rng(0).normal(size=X2[test].shape)
    b = tune_head(X2, y, layout, default_space("logistic"), tmp_path / "b", cfg)
    ta = pl.read_parquet(tmp_path / "a" / "trials.parquet")["value"].to_list()
    tb = pl.read_parquet(tmp_path / "b" / "trials.parquet")["value"].to_list()
    assert ta == tb
    assert a.test["auroc"] != b.test["auroc"]


def test_tuned_head_picks_the_informative_block_and_beats_noise(data, tmp_path) -> None:
    X, y, layout = data
    res = tune_head(
        X, y, layout, default_space("logistic"), tmp_path, HeadStudy(task="gender", n_trials=12)
    )
    assert "svd" in res.best["params"]["blocks"]
    assert res.test["auroc"] > 0.8
    best = json.loads((tmp_path / "best_params.json").read_text())
    assert best["trial"] == res.best["trial"] and best["metric"] == "auroc"
    trials = pl.read_parquet(tmp_path / "trials.parquet")
    assert trials.height == 12 and set(trials["state"]) <= {"COMPLETE", "PRUNED"}


def test_mlp_space_and_a_resumed_study_runs_only_the_rest(data, tmp_path) -> None:
    X, y, layout = data
    space = parse_space({"head": "mlp", "cv": 2, "params": {
        "hidden": {"type": "int", "low": 8, "high": 32}, "depth": {"type": "int", "low": 1, "high": 2},
        "epochs": {"type": "int", "low": 20, "high": 40}}}, "mlp")  # fmt: skip
    tune_head(X, y, layout, space, tmp_path, HeadStudy(head="mlp", task="gender", n_trials=2))
    res = tune_head(X, y, layout, space, tmp_path, HeadStudy(head="mlp", task="gender", n_trials=3))
    study = optuna.load_study(
        study_name="head-gender-mlp",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(tmp_path / "journal.log"))
        ),
    )
    assert len(study.trials) == 3
    assert (
        res.head.pipeline_[-1].hidden_layer_sizes
        == (res.best["params"]["hidden"],) * res.best["params"]["depth"]
    )


def test_select_blocks_takes_the_named_columns(data) -> None:
    X, _, layout = data
    sub_x, sub = select_blocks(X, layout, ["aggregates", "learned"])
    assert sub.names == ["aggregates", "learned"] and sub_x.shape[1] == 3 + 6
    np.testing.assert_array_equal(sub_x[:, :3], X[:, 10:13])
