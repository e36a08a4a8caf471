import pytest
import yaml
from tune_synthetic import make_table
from typer.testing import CliRunner

from byod.cli.main import app
from byod.errors import ConfigError
from byod.tune.space import TUNABLE, default_space, load_space, parse_space


@pytest.mark.parametrize("kind", list(TUNABLE))
def test_packaged_defaults_are_valid(kind) -> None:
    space = default_space(kind)
    assert space.kind == kind
    assert {p.name for p in space.params} <= set(TUNABLE[kind])


def test_unknown_parameter_names_the_key_and_the_valid_ones() -> None:
    raw = {
        "head": "logistic",
        "params": {"C": {"type": "float", "low": 0.1, "high": 1}, "gamma": {}},
    }
    with pytest.raises(
        ConfigError, match=r"unknown key 'gamma'; valid keys are \['C', 'scaling', 'blocks'\]"
    ):
        parse_space(raw, "logistic")


def test_unknown_range_key_and_top_key_fail() -> None:
    with pytest.raises(ConfigError, match=r"params\.C: unknown key 'lo'"):
        parse_space({"params": {"C": {"type": "float", "lo": 0.1, "high": 1}}}, "logistic")
    with pytest.raises(
        ConfigError, match=r"unknown key 'trials'; valid keys are \['head', 'cv', 'params'\]"
    ):
        parse_space(
            {"trials": 3, "params": {"C": {"type": "float", "low": 0.1, "high": 1}}}, "logistic"
        )
    with pytest.raises(ConfigError, match="0 < low < high"):
        parse_space(
            {"params": {"C": {"type": "float", "low": 0, "high": 1, "log": True}}}, "logistic"
        )
    with pytest.raises(ConfigError, match="written for head 'mlp'"):
        parse_space(
            {"head": "mlp", "params": {"C": {"type": "float", "low": 0.1, "high": 1}}}, "logistic"
        )


def test_space_file_round_trip(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump({"head": "mlp", "params": {"depth": {"type": "int", "low": 1, "high": 2}}})
    )
    space = load_space(path, "mlp")
    assert space.to_json()["params"] == {"depth": {"type": "int", "low": 1.0, "high": 2.0}}


def test_cli_bad_space_exits_2_naming_the_key(tmp_path) -> None:
    features, labels = make_table(tmp_path, n=60)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "head: logistic\nparams:\n  C: {type: float, low: 0.01, high: 10}\n  kernel: {type: categorical, choices: [rbf]}\n"
    )
    res = CliRunner().invoke(
        app,
        [
            "tune",
            "head",
            "--features",
            str(features),
            "--labels",
            str(labels),
            "--task",
            "gender",
            "--out",
            str(tmp_path / "s"),
            "--space",
            str(bad),
        ],
    )
    assert res.exit_code == 2
    assert "unknown key 'kernel'" in res.output and "['C', 'scaling', 'blocks']" in res.output
    assert "Traceback" not in res.output


def test_subset_of_one_block_is_not_searched() -> None:
    import optuna

    space = parse_space({"params": {"blocks": {"type": "subset"}}}, "logistic")
    trial = optuna.create_study().ask()
    assert space.suggest(trial, offered=("learned",)) == {"blocks": ["learned"]}
    assert trial.params == {}
