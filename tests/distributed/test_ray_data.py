"""``--backend ray`` gives what the Polars backend gives: same users, counts, rejects, vectors."""

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from byod.cli.main import app
from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.data.serialize import SerializeConfig, read_rendering, serialize
from byod.data.synth import SynthConfig, synth_logs
from byod.encoders.backbone import open_backbone
from byod.encoders.user import UserEncoder
from byod.errors import ByodError
from byod.features.table import read_feature_table
from byod.pretrain.run import baseline_encoder

pytestmark = pytest.mark.ray
runner = CliRunner()


def _invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    synth_logs(SynthConfig(users=60, events_per_user=12, services=3, dirty=0.05), root)
    return root


def test_ingest_and_serialize_agree_with_polars(ray_cluster, logs):
    polars_run = ingest(load_ingest_config(logs / "ingest.yaml", out_dir=logs / "polars"))
    (logs / "ray").mkdir()
    cfg = (logs / "ingest.yaml").read_text().replace("events.parquet", "ray/events.parquet")
    (logs / "ray.yaml").write_text(cfg.replace("rejects.csv", "ray/rejects.csv"))
    out = _invoke("data", "ingest", logs / "ray.yaml", "--backend", "ray").output
    assert "rejected by reason" in out
    ray_summary = json.loads((logs / "ray" / "events.summary.json").read_text())
    assert ray_summary.pop("backend") == "ray" and ray_summary.pop("partitions") >= 2
    expected = json.loads(json.dumps(polars_run.summary, default=str))
    for s in (expected, ray_summary):
        s.pop("outputs")
        for src in s["sources"]:
            src["source"] = src["source"].rsplit("/", 1)[-1]
    assert ray_summary == expected  # read = accepted + rejected + duplicates, per source too
    assert expected["rejected"] > 0 and expected["duplicates"] > 0
    events = pl.read_parquet(logs / "ray" / "events.parquet").sort("seq")
    assert events.equals(polars_run.events.sort("seq"))
    assert pl.read_csv(logs / "ray" / "rejects.csv").equals(
        pl.read_csv(logs / "polars" / "rejects.csv")
    )

    config = SerializeConfig(max_events=5, time_prefix="date")
    _invoke(
        "data", "serialize", logs / "ray" / "events.parquet", "--out", logs / "ray" / "h.parquet",
        "--max-events", 5, "--time-prefix", "date", "--backend", "ray",
    )  # fmt: skip
    got = pl.read_parquet(logs / "ray" / "h.parquet").sort("user_id", "service")
    assert got.equals(serialize(polars_run.events, config))
    assert read_rendering(logs / "ray" / "h.parquet") == config.rendering()


def test_embed_agrees_with_polars(ray_cluster, logs, tiny_st_folder, tmp_path, monkeypatch):
    """New users from raw events: serialize + cached event texts + sequence encoder per actor."""
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    events = ingest(load_ingest_config(logs / "ingest.yaml", out_dir=tmp_path)).events
    histories = serialize(events, SerializeConfig(max_events=None))
    backbone = open_backbone(str(tiny_st_folder))
    baseline_encoder("random", histories, backbone, max_events=8).save(tmp_path / "model")
    expected = UserEncoder.load(tmp_path / "model", backbone=backbone).encode_events(events)
    _invoke(
        "embed", "--model", tmp_path / "model", "--events", tmp_path / "events.parquet",
        "--out", tmp_path / "f", "--backend", "ray", "--workers", 2,
    )  # fmt: skip
    table = read_feature_table(tmp_path / "f")
    assert table.metadata["backend"] == "ray" and table.metadata["workers"] == 2
    assert table.user_ids == expected["user_id"].to_list()
    np.testing.assert_allclose(table.vectors, expected["vector"].to_numpy(), atol=1e-5)
    assert any((tmp_path / "home" / "text-vectors").rglob("part-*.parquet"))  # the cache is kept


def test_more_workers_than_cpus_fails_at_once(ray_cluster, logs, tmp_path):
    from byod.distributed.ray_embed import embed_ray

    with pytest.raises(ByodError, match="needs 3 CPUs but the Ray cluster has 2"):
        embed_ray(
            tmp_path / "model", logs / "logs" / "news.parquet", tmp_path / "f", kind="events",
            vector_cache_dir=tmp_path, models_dir=tmp_path, workers=3,
        )  # fmt: skip
