import numpy as np
import optuna
import polars as pl
import pytest
from optuna.trial import TrialState, create_trial

from byod.tune.pretrainstudy import (
    PretrainStudy,
    Probe,
    resume_pruned_trials,
    trial_config,
    tune_pretrain,
)
from byod.tune.space import default_space, parse_space
from byod.tune.study import open_study

SPACE = {"epochs": 3, "params": {
    "objective_weights": {"type": "weights", "choices": ["clue", "slices"]},
    "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "batch_size": {"type": "categorical", "choices": [8, 16]},
    "layers": {"type": "int", "low": 1, "high": 2}}}  # fmt: skip
BASE = {"encoder": {"dim": 16, "out_dim": 8, "heads": 2}, "max_events": 32}


@pytest.fixture(scope="module")
def labels(histories) -> pl.DataFrame:
    users = sorted(histories["user_id"].unique().to_list())
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {"user_id": users, "task": "t", "label": rng.choice(["a", "b"], len(users))}
    )


def _study(**kw) -> PretrainStudy:
    return PretrainStudy(task="t", device="cpu", base=BASE, **{"n_trials": 3, **kw})


def test_trial_config_maps_parameters_to_sections() -> None:
    params = {"objective_weights": {"clue": 1.0, "slices": 0.5}, "lr": 0.002, "batch_size": 64,
              "dim": 64, "layers": 1, "min_events": 6, "max_events": 32}  # fmt: skip
    cfg = trial_config(params, PretrainStudy(base={"encoder": {"heads": 2}}), epochs=4)
    assert cfg.objective == "clue:1.0,slices:0.5"
    assert cfg.optimizer["lr"] == 0.002 and cfg.train.batch_size == 64 and cfg.train.epochs == 4
    assert cfg.encoder == {"heads": 2, "dim": 64, "layers": 1} and cfg.views == {"min_events": 6}
    with pytest.raises(optuna.TrialPruned, match="divisible"):
        trial_config({"dim": 30}, PretrainStudy(), epochs=1)


def test_default_pretrain_space_parses() -> None:
    assert default_space("pretrain").settings == {"epochs": 6, "probe_every": 1}


def test_a_badly_reporting_trial_is_pruned_then_resumed(
    histories, backbone, labels, tmp_path, monkeypatch
) -> None:
    """Three good trials at 0.9 per epoch; a fourth whose probe says 0.1 stops after epoch 1,
    keeps its checkpoint, and --resume-pruned continues it from there to the last epoch."""
    space = parse_space(SPACE, "pretrain")
    study = _study(n_trials=4, pruner="median")
    opt = open_study(tmp_path, study.study_name, pruner="median", max_resource=3)
    dists = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)}
    for _ in range(3):
        opt.add_trial(create_trial(params={"lr": 1e-3}, distributions=dists, value=0.9,
                                   intermediate_values={1: 0.9, 2: 0.9, 3: 0.9}))  # fmt: skip
    monkeypatch.setattr(Probe, "score", lambda self, vectors: 0.1)
    tune_pretrain(histories, labels, space, tmp_path, study, backbone=backbone)
    bad = opt.trials[3]
    assert bad.state == TrialState.PRUNED
    assert list(bad.intermediate_values) == [1] and bad.user_attrs["epochs_run"] == 1
    assert (tmp_path / "trials" / "0003" / "checkpoints" / "last.pt").exists()

    monkeypatch.setattr(Probe, "score", lambda self, vectors: 0.5)
    assert resume_pruned_trials(
        histories, labels, space, tmp_path, study, 1, backbone=backbone
    ) == [3]
    again = optuna.load_study(study_name=study.study_name, storage=opt._storage).trials[4]
    assert again.state == TrialState.COMPLETE and again.params == bad.params
    assert list(again.intermediate_values) == [2, 3]  # continued from the epoch-1 checkpoint
    assert (
        resume_pruned_trials(histories, labels, space, tmp_path, study, 1, backbone=backbone) == []
    )


def test_probe_on_real_vectors_and_seeded_study(histories, backbone, labels, tmp_path) -> None:
    space = parse_space({**SPACE, "epochs": 2}, "pretrain")
    a = tune_pretrain(
        histories,
        labels,
        space,
        tmp_path / "a",
        _study(n_trials=2, pruner="none"),
        backbone=backbone,
    )
    b = tune_pretrain(
        histories,
        labels,
        space,
        tmp_path / "b",
        _study(n_trials=2, pruner="none"),
        backbone=backbone,
    )
    assert a["params"] == b["params"] and a["value"] == pytest.approx(b["value"])
    assert 0.0 <= a["value"] <= 1.0 and a["metric"] == "auroc"
    assert (tmp_path / "a" / "trials" / f"{a['trial']:04d}" / "user_encoder.json").exists()


KILLED_RUN = """
import os, sys
sys.path[:0] = [{tests!r}, {here!r}]
import polars as pl
from conftest import make_events
from byod.data.serialize import SerializeConfig, serialize
from byod.encoders.hashing import HashingBackbone
from byod.tune import pretrainstudy as ps
from byod.tune.space import parse_space
from test_pretrain_study import SPACE, _study
calls = []
def score(self, vectors):
    calls.append(1)
    if len(calls) == 2:
        os._exit(9)  # as kill -9: no clean-up, the trial stays RUNNING in the journal
    return 0.5
ps.Probe.score = score
histories = serialize(make_events(), SerializeConfig(max_events=32))
labels = pl.read_parquet({labels!r})
ps.tune_pretrain(histories, labels, parse_space(SPACE, "pretrain"), {out!r},
                 _study(n_trials=1, pruner="none"), backbone=HashingBackbone(dim=32))
"""


@pytest.mark.slow  # one extra Python process
def test_a_killed_trial_resumes_from_its_checkpoint(
    histories, backbone, labels, tmp_path, monkeypatch
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).parent
    labels.write_parquet(tmp_path / "labels.parquet")
    code = KILLED_RUN.format(
        tests=str(here.parent),
        here=str(here),
        labels=str(tmp_path / "labels.parquet"),
        out=str(tmp_path / "s"),
    )
    env = {**os.environ, "PYTHONPATH": str(here.parents[1] / "src"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 9, done.stderr
    monkeypatch.setattr(Probe, "score", lambda self, vectors: 0.5)
    space = parse_space(SPACE, "pretrain")
    tune_pretrain(
        histories,
        labels,
        space,
        tmp_path / "s",
        _study(n_trials=1, pruner="none"),
        backbone=backbone,
    )
    opt = open_study(tmp_path / "s", "pretrain-t")
    killed, resumed = opt.trials
    assert killed.state == TrialState.FAIL and list(killed.intermediate_values) == [1]
    assert resumed.state == TrialState.COMPLETE and resumed.params == killed.params
    assert list(resumed.intermediate_values) == [3]  # epochs 1-2 came from the checkpoint


def test_without_last_events_drops_each_users_last_timeline_event(histories, backbone) -> None:
    from byod.encoders.histories import HistoryArrays

    full = HistoryArrays.build(histories, backbone)
    trimmed, last = full.without_last_events()
    for u in range(len(full.user_ids)):
        before, after = full.timeline(u).events, trimmed.timeline(u).events
        assert last[u] == before[-1] and len(after) == len(before) - 1
        assert sorted(after.tolist()) == sorted(before[:-1].tolist())
    assert trimmed.offsets[-1] == len(full.events) - len(full.user_ids)


def test_next_item_probe_holds_its_users_out_and_scores_a_model(
    histories, backbone, tmp_path
) -> None:
    from byod.pretrain.run import PretrainConfig, pretrain
    from byod.tune.pretrainstudy import NextItemProbe

    probe, rest = NextItemProbe.build(histories, backbone, None, max_users=6, n_candidates=5)
    users = set(probe.arrays.user_ids)
    assert len(users) == 6 and not users & set(rest["user_id"].to_list())
    assert probe.candidates.shape == (6, 6)
    for u in range(6):
        own = set(probe.arrays.timeline(u).events.tolist()) | {int(probe.candidates[u, 0])}
        assert not own & set(probe.candidates[u, 1:].tolist())  # negatives: never the user's
    cfg = PretrainConfig.from_dict(
        {"objective": "next-item", "max_events": 16, **BASE,
         "train": {"epochs": 1, "batch_size": 8, "chunk_size": 8, "device": "cpu"}}
    )  # fmt: skip
    encoder, _ = pretrain(rest, tmp_path / "m", cfg, backbone=backbone, progress=False)
    value = probe.evaluate(encoder)
    assert 1 / 6 <= value <= 1.0  # MRR over 6 candidates


def test_a_study_without_labels_tunes_next_item_on_its_probe(
    histories, backbone, tmp_path, monkeypatch
) -> None:
    from byod.tune.pretrainstudy import NextItemProbe

    modes = []
    evaluate = NextItemProbe.evaluate

    def spy(self, encoder):
        modes.append((encoder.config.item_ids, encoder.scores_next_items))
        return evaluate(self, encoder)

    monkeypatch.setattr(NextItemProbe, "evaluate", spy)
    space = default_space("pretrain", "next-item")
    assert space.settings["base"] == {"objective": "next-item", "item_ids": "hashed"}
    small = parse_space(
        {"epochs": 2, "base": space.settings["base"],
         "params": {"lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}}},
        "pretrain",
    )  # fmt: skip
    study = PretrainStudy(task="next-item", device="cpu", base={**BASE, "max_events": 16},
                          n_trials=2, pruner="none", probe_users=6)  # fmt: skip
    best = tune_pretrain(histories, None, small, tmp_path, study, backbone=backbone)
    assert best["metric"] == "mrr" and 0.0 < best["value"] <= 1.0
    model = tmp_path / "trials" / f"{best['trial']:04d}" / "user_encoder.json"
    assert '"next-item"' in model.read_text()
    assert modes and set(modes) == {("hashed", True)}  # the probe scores with the trial's ids


def test_the_defaults_are_scored_on_the_trials_probe_and_shown_in_the_report(
    histories, backbone, tmp_path
) -> None:
    import json

    from byod.tune.pretrainstudy import score_defaults
    from byod.tune.report import write_tuning_report

    small = parse_space(
        {"epochs": 2, "base": {"objective": "next-item", "item_ids": "hashed"},
         "params": {"lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}}},
        "pretrain",
    )  # fmt: skip
    study = PretrainStudy(task="next-item", device="cpu", base={**BASE, "max_events": 16},
                          n_trials=2, pruner="none", probe_users=6)  # fmt: skip
    best = tune_pretrain(histories, None, small, tmp_path, study, backbone=backbone)
    base = score_defaults(histories, None, small, tmp_path, study, backbone=backbone)
    assert set(base["test"]) == {"mrr"} and 0.0 < base["test"]["mrr"] <= 1.0
    assert base["params"]["lr"] == 1e-3 and base["params"]["dim"] == 16  # defaults over BASE
    model = json.loads((tmp_path / "defaults" / "user_encoder.json").read_text())
    assert model["objective"] == "next-item" and model["item_ids"] == "hashed"
    # read back, not trained again
    (tmp_path / "defaults" / "user_encoder.json").unlink()
    assert score_defaults(histories, None, small, tmp_path, study, backbone=backbone) == base
    write_tuning_report(tmp_path, defaults=base, tuned={"mrr": best["value"]})
    md = (tmp_path / "tuning.md").read_text()
    assert "| metric (probe users) | defaults | tuned |" in md
    assert f"| mrr | {base['test']['mrr']:.4f} | {best['value']:.4f} |" in md
