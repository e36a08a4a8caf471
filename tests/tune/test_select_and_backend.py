"""The one-standard-error selection rule, the backend choice, and no Ray on import."""

import subprocess
import sys

import optuna
import pytest
from optuna.distributions import FloatDistribution
from tune_synthetic import make_table
from typer.testing import CliRunner

from byod.cli.main import app
from byod.tune.headstudy import complexity
from byod.tune.study import best_trial, one_se_trial


def _trial(value: float, C: float, blocks: list[str], cv_std: float) -> optuna.trial.FrozenTrial:  # noqa: N803
    return optuna.trial.create_trial(
        params={"C": C}, distributions={"C": FloatDistribution(1e-3, 1e2, log=True)}, value=value,
        user_attrs={"resolved": {"C": C, "blocks": blocks}, "cv_std": cv_std},
    )  # fmt: skip


def test_one_se_picks_the_simplest_trial_within_one_standard_error() -> None:
    study = optuna.create_study(direction="maximize")
    study.add_trial(_trial(0.80, 5.0, ["a", "b"], cv_std=0.02))  # best; se = 0.02 / sqrt(4)
    study.add_trial(_trial(0.795, 0.1, ["a", "b"], cv_std=0.02))  # within: smaller C
    study.add_trial(_trial(0.792, 9.0, ["a"], cv_std=0.02))  # within: fewer blocks -> simplest
    study.add_trial(_trial(0.70, 0.01, ["a"], cv_std=0.02))  # simpler still, but far below
    key = complexity("logistic", n_blocks=2)
    assert best_trial(study).number == 0
    assert one_se_trial(study, key, n_splits=4).number == 2
    assert one_se_trial(study, key, n_splits=10**6).number == 0  # no noise: the best itself


def test_mlp_complexity_orders_by_blocks_then_size() -> None:
    key = complexity("mlp", n_blocks=3)
    small = key({"hidden": 32, "depth": 1, "blocks": ["a", "b"]})
    big = key({"hidden": 512, "depth": 2, "blocks": ["a", "b"]})
    assert small < big < key({"hidden": 32, "depth": 1})  # None: every block


def test_one_se_through_the_cli_is_recorded(tmp_path) -> None:
    features, labels = make_table(tmp_path, n=100)
    res = CliRunner().invoke(app, [
        "tune", "head", "--features", str(features), "--labels", str(labels), "--task", "gender",
        "--n-trials", "6", "--sampler", "random", "--select", "one-se", "--out", str(tmp_path / "s"),
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert '"select": "one-se"' in (tmp_path / "s" / "best_params.json").read_text()


@pytest.mark.parametrize(("option", "value"), [("--backend", "spark"), ("--select", "worst")])
def test_unknown_backend_or_rule_exits_2_naming_the_choices(tmp_path, option, value) -> None:
    features, labels = make_table(tmp_path, n=60)
    res = CliRunner().invoke(app, [
        "tune", "head", "--features", str(features), "--labels", str(labels), "--task", "gender",
        "--n-trials", "2", option, value, "--out", str(tmp_path / "s"),
    ])  # fmt: skip
    assert res.exit_code == 2 and option in res.output and value in res.output


def test_importing_the_tuning_code_does_not_import_ray() -> None:
    code = "import sys, byod.tune.headstudy, byod.tune.raytune; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("tuned", "kept"),
    [([0.50, 0.51, 0.52], False), ([0.52, 0.49, 0.50], True)],  # steady gain | noise
)
def test_beat_default_is_a_paired_test_on_the_same_splits(tuned, kept) -> None:
    from byod.tune.headstudy import HeadStudy, _beats_default

    study = optuna.create_study(direction="maximize")
    study.set_user_attr("default_cv_auroc_3", [0.49, 0.50, 0.51])  # the defaults, already scored
    trial = _trial(float(sum(tuned) / 3), 1.0, ["a"], cv_std=0.01)
    trial.set_user_attr("cv_scores", tuned)
    study.add_trial(trial)
    out = _beats_default(study, study.best_trial, None, None, None, HeadStudy(), "auroc", 3)
    assert out["defaults_kept"] is kept
    assert out["default_cv"] == pytest.approx(0.50)


def test_beat_default_end_to_end_keeps_a_consistent_head(tmp_path) -> None:
    import json

    from byod.serve.heads import ClassifyHead

    features, labels = make_table(tmp_path, n=100)
    out = tmp_path / "s"
    res = CliRunner().invoke(app, [
        "tune", "head", "--features", str(features), "--labels", str(labels), "--task", "gender",
        "--n-trials", "5", "--sampler", "random", "--select", "beat-default", "--out", str(out),
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    best = json.loads((out / "best_params.json").read_text())
    assert {"defaults_kept", "default_cv", "paired_gain", "paired_se"} <= set(best)
    card = ClassifyHead.load(out / "head").card
    assert card["tuning"]["defaults_kept"] is best["defaults_kept"]
    if best["defaults_kept"]:  # the default head is what was saved, and scored
        assert {k: v["mean"] for k, v in card["metrics"].items()} == card["default_metrics"]
    summary = json.loads((out / "tuning.json").read_text())
    assert summary["best"]["paired_gain"] == pytest.approx(best["paired_gain"])
