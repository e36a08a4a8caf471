"""The synthetic log generator: deterministic, the right size, ingestible, counts that add up."""

import hashlib

import polars as pl
import pytest
from typer.testing import CliRunner

from byod.cli.main import app
from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.data.synth import SynthConfig, synth_logs
from byod.errors import ConfigError


def _digest(folder):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.parquet"))
    }


def test_same_seed_same_bytes_and_ingest_counts_add_up(tmp_path):
    cfg = SynthConfig(users=120, events_per_user=15, services=3, dirty=0.05, chunk_users=50)
    a = synth_logs(cfg, tmp_path / "a").parent
    b = synth_logs(cfg, tmp_path / "b").parent
    assert _digest(a) == _digest(b) and len(_digest(a)) == 3
    c = synth_logs(SynthConfig(users=120, events_per_user=15, seed=1), tmp_path / "c").parent
    assert _digest(c) != _digest(a)
    s = ingest(load_ingest_config(a / "ingest.yaml")).summary
    assert s["read"] == s["accepted"] + s["rejected"] + s["duplicates"]
    assert s["rejected"] > 0 and s["duplicates"] > 0
    # Exact copies come on top of the 120 x 15 rows (a copy of a broken row is rejected instead).
    assert 120 * 15 + s["duplicates"] <= s["read"] <= 120 * 15 + s["duplicates"] + s["rejected"]
    assert s["users"] == 120 and set(s["services"]) == {"shopping", "search", "news"}
    events = pl.read_parquet(a / "events.parquet")
    per_user = events.group_by("user_id").agg(pl.col("service").n_unique())["service"]
    assert (per_user > 1).mean() > 0.8  # most users appear in several services
    assert events["text"].str.contains(" KRW").any()


def test_cli_and_bad_values(tmp_path):
    result = CliRunner().invoke(
        app, ["data", "synth", "--out", str(tmp_path), "--users", "10", "--events-per-user", "3"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ingest.yaml").exists()
    with pytest.raises(ConfigError, match="services"):
        SynthConfig(users=1, events_per_user=1, services=9)
    bad = CliRunner().invoke(app, ["data", "synth", "--out", str(tmp_path), "--users", "0"])
    assert bad.exit_code == 2
