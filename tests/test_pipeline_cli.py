"""``byod run CONFIG.yaml`` and the pretrain options that --flat / --baseline must honour."""

from __future__ import annotations

import polars as pl
from typer.testing import CliRunner

from byod.atomic import write_parquet
from byod.cli.main import app
from byod.data.serialize import SerializeConfig, serialize
from byod.pipeline import RunLayout


def _events(events: pl.DataFrame) -> pl.DataFrame:
    return events.with_columns(item_id=pl.format("i{}", pl.col("text").str.extract(r"item (\d+)")))


def test_run_command_runs_the_pipeline_from_yaml(tmp_path, events, tiny_st_folder, monkeypatch):
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    layout = RunLayout(tmp_path / "run")
    write_parquet(_events(events), layout.events)
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        f"backbone: {tiny_st_folder}\nencoders:\n  - {{name: zs, objective: zero-shot}}\n"
        "blocks: [learned]\nrecommend_heads: [dot]\nrecommend: {epochs: 1}\nn_negatives: 5\n"
        "report: false\n"
    )
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(layout.root)])
    assert result.exit_code == 0, result.output
    assert "4. classification: skipped (no labels)" in result.output
    assert "### Recommendation" in result.output and "zs-dot" in result.output
    assert (layout.features("zs") / "LATEST").exists() and layout.recommend.exists()


def test_run_command_names_unknown_keys(tmp_path) -> None:
    config = tmp_path / "pipeline.yaml"
    config.write_text("encoder: clue\n")
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "unknown key(s) ['encoder']; valid keys are" in result.output
    assert "Traceback" not in result.output


def test_flat_and_baseline_honour_config_batch_size_and_device(
    tmp_path, events, tiny_st_folder, monkeypatch
):
    import byod.encoders.backbone as backbone_module
    import byod.pretrain.flat as flat

    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    histories = tmp_path / "histories.parquet"
    write_parquet(serialize(events, SerializeConfig(max_events=16)), histories)
    config = tmp_path / "pretrain.yaml"
    config.write_text(f"backbone: {tiny_st_folder}\ntrain: {{epochs: 3, max_steps: 2}}\n")
    seen = {}
    monkeypatch.setattr(flat, "pretrain_flat", lambda data, out, bb, cfg: seen.update(cfg=cfg))
    opened = backbone_module.open_backbone

    def spy(name, **kwargs):
        seen["device"] = kwargs.get("device")
        return opened(name, **kwargs)

    monkeypatch.setattr(backbone_module, "open_backbone", spy)
    args = ["pretrain", "--histories", str(histories), "--config", str(config)]
    result = CliRunner().invoke(app, [*args, "--flat", "--batch-size", "8", "--device", "cpu",
                                      "--out", str(tmp_path / "flat")])  # fmt: skip
    assert result.exit_code == 0, result.output
    cfg = seen["cfg"]
    assert (cfg.epochs, cfg.max_steps, cfg.batch_size) == (3, 2, 8) and seen["device"] == "cpu"
    result = CliRunner().invoke(app, [*args, "--baseline", "zero-shot", "--device", "cpu",
                                      "--out", str(tmp_path / "zs")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert seen["device"] == "cpu" and (tmp_path / "zs" / "user_encoder.json").exists()
