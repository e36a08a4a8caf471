"""`byod text train --encoder finetune`: the fine-tuned encoder is saved with the head."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from byod.cli.main import app

runner = CliRunner()
FRESH = ["action war crime", "war crime space", "action space war", "crime action horror"]
ROTTEN = ["love comedy kids", "music love drama", "kids drama comedy", "comedy music love"]


def _data(tmp_path):  # noqa: ANN001, ANN202
    path = tmp_path / "reviews.csv"
    pl.DataFrame({"text": FRESH + ROTTEN, "label": ["fresh"] * 4 + ["rotten"] * 4}).write_csv(path)
    return path


def test_an_unknown_encoder_mode_is_one_line_before_any_model_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    out = runner.invoke(app, ["text", "train", str(_data(tmp_path)), "--out", str(tmp_path / "m"),
                              "--task", "rotten-tomatoes", "--llm", "none", "--encoder", "thawed",
                              "--backbone", "no-such-backbone"])  # fmt: skip
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert "encoder 'thawed' is unknown" in out.output


def test_finetune_saves_its_encoder_and_predict_reads_it(tmp_path, tiny_st_folder, monkeypatch):
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    data, model = _data(tmp_path), tmp_path / "m"
    out = runner.invoke(app, ["text", "train", str(data), "--out", str(model), "--test", str(data),
                              "--task", "rotten-tomatoes", "--llm", "none", "--encoder", "finetune",
                              "--backbone", str(tiny_st_folder)])  # fmt: skip
    assert out.exit_code == 0, out.output
    card = json.loads((model / "classifier.json").read_text())
    assert card["backbone"] == str((model / "encoder").resolve())
    assert (model / "encoder" / "model.safetensors").exists() or any(
        (model / "encoder").rglob("*.safetensors")
    )
    assert json.loads((model / "train.json").read_text())["finetune"]["terms"] == ["contrastive"]
    out = runner.invoke(app, ["text", "predict", str(model), str(data), "--out",
                              str(tmp_path / "p.csv")])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert set(pl.read_csv(tmp_path / "p.csv")["prediction"]) <= {"fresh", "rotten"}
