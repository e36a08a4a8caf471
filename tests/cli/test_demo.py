"""The demo chain end to end on the quick profile (ML-100K, 2 epochs): every step's output lands."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from byod.cli.main import app
from byod.features.blocks import DEFAULT_BLOCKS


@pytest.mark.slow
def test_quick_demo_runs_the_whole_chain(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--profile", "quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "### Classification" in result.output and "### Recommendation" in result.output
    assert f"report: {out / 'report' / 'index.html'}" in result.output.replace("\n", "")
    classify = pl.read_parquet(out / "transfer" / "classify.parquet")
    blocks = [b for b in DEFAULT_BLOCKS if b != "learned"]
    expected = {"next-item", "zero-shot", "majority", "tfidf-items"}
    if blocks:  # each encoder alone, and with the default blocks
        expected |= {"+".join(["next-item", *blocks]),
                     "+".join(["zero-shot", *[b for b in blocks if b != "zero-shot"]])}  # fmt: skip
    assert set(classify["source"]) == expected
    assert set(classify["task"]) == {"gender", "age", "occupation"}
    recommend = pl.read_parquet(out / "transfer" / "recommend.parquet")
    assert {"popularity", "cooccurrence", "next-item-mlp", "next-item-model"} <= set(
        recommend["source"]
    )
    assert (out / "models" / "next-item" / "metrics.jsonl").exists()
    assert (out / "features" / "next-item" / "LATEST").exists()
    meta = (out / "features" / "next-item" / "v0001" / "metadata.json").read_text()
    assert all(f'"name": "{b}"' in meta for b in DEFAULT_BLOCKS)
    assert (out / "report" / "report.md").exists()


def test_unknown_profile_is_named(tmp_path) -> None:
    result = CliRunner().invoke(app, ["demo", "--profile", "huge", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--profile must be one of ['full', 'quick']" in result.output
