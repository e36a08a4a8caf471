"""``byod pretrain --backend ray``: Ray Train workers, gathered negatives, resume after a kill."""

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from byod.cli.main import app
from byod.data.serialize import SerializeConfig, write_histories
from byod.errors import ByodError
from byod.pretrain.run import PretrainConfig

pytestmark = pytest.mark.ray


class KillOnce:
    """Kills worker ``rank`` (SIGKILL, no clean-up) after ``step``, the first time only."""

    def __init__(self, marker: str, step: int, rank: int = 1) -> None:
        self.marker, self.step, self.rank = marker, step, rank

    def on_step_end(self, trainer, state):
        import ray.train

        if ray.train.get_context().get_world_rank() != self.rank or state.global_step != self.step:
            return
        if not Path(self.marker).exists():
            Path(self.marker).touch()
            os.kill(os.getpid(), signal.SIGKILL)


def _config(**train):
    return PretrainConfig.from_dict(
        {
            "objective": "clue",
            "max_events": 16,
            "encoder": {"dim": 16, "out_dim": 8, "layers": 1, "heads": 2},
            "train": {"batch_size": 8, "epochs": 2, "chunk_size": 8, "val_fraction": 0.1, **train},
        }
    )


def test_killed_worker_resumes_from_the_ray_checkpoint(ray_cluster, histories, backbone, tmp_path):
    from ray import cloudpickle

    from byod.distributed.ray_train import pretrain_ray

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    encoder, run = pretrain_ray(
        histories, tmp_path / "model", _config(), workers=2, backbone=backbone,
        checkpoint_every=2, max_failures=1,
        callbacks=[KillOnce(str(tmp_path / "killed"), step=3)],
    )  # fmt: skip
    assert (tmp_path / "killed").exists()
    assert run.restarts == 1 and run.resumed_from == (2,)  # the checkpoint before the kill
    assert run.workers == 2 and run.per_worker_batch == 8 and run.negatives_per_anchor == 15
    steps_per_epoch = 36 // 16  # 40 users, 4 held out, global batch 2 x 8
    assert run.global_step == 2 * steps_per_epoch and run.epochs == 2
    saved = json.loads((tmp_path / "model" / "distributed.json").read_text())
    assert saved["global_batch"] == 16 and saved["restarts"] == 1
    meta = json.loads((tmp_path / "model" / "user_encoder.json").read_text())
    assert meta["extra"]["distributed"]["negatives_per_anchor"] == 15
    lines = (tmp_path / "model" / "metrics.jsonl").read_text().splitlines()
    epochs = [json.loads(line)["epoch"] for line in lines]
    assert epochs == [1, 2]  # no epoch lost or logged twice across the restart
    assert encoder.encode(histories).height == histories["user_id"].n_unique()


def test_more_workers_than_cpus_fails_at_once(ray_cluster, histories, tiny_st_folder, tmp_path):
    path = write_histories(histories, tmp_path / "h.parquet", SerializeConfig())
    result = CliRunner().invoke(
        app,
        ["pretrain", "--histories", str(path), "--out", str(tmp_path / "m"), "--backbone",
         str(tiny_st_folder), "--backend", "ray", "--workers", "3"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "needs 3 CPUs but the Ray cluster has 2" in result.output
    with pytest.raises(ByodError, match="--backend ray trains the sequence encoder"):
        from byod.cli.ray_backend import pretrain_with_ray

        pretrain_with_ray(None, tmp_path, _config(), None, tmp_path, False, None, 2, True, None)


def test_causal_objectives_are_refused_before_ray_starts(histories, tiny_st_folder, tmp_path):
    path = write_histories(histories, tmp_path / "h.parquet", SerializeConfig())
    result = CliRunner().invoke(
        app,
        ["pretrain", "--histories", str(path), "--out", str(tmp_path / "m"), "--backbone",
         str(tiny_st_folder), "--objective", "next-item:1,clue:1", "--backend", "ray"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "pair objectives only; ['next-item'] train in one process" in result.output
