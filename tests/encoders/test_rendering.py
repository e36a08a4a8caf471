"""A model remembers how its histories were written: new users' raw events are written the same way."""

import numpy as np
import polars as pl
from typer.testing import CliRunner

from byod.cli.main import app
from byod.data.serialize import SerializeConfig, read_rendering, serialize, write_histories
from byod.encoders.user import UserEncoder

runner = CliRunner()


def test_histories_parquet_records_the_rendering(tmp_path, events) -> None:
    config = SerializeConfig(max_events=8, time_prefix="date", separator=" | ")
    path = write_histories(serialize(events, config), tmp_path / "h.parquet", config)
    assert read_rendering(path) == {"separator": " | ", "time_prefix": "date", "by_service": True}
    assert pl.read_parquet(path).equals(serialize(events, config))
    serialize(events).write_parquet(tmp_path / "plain.parquet")
    assert read_rendering(tmp_path / "plain.parquet") is None


def test_trained_model_embeds_raw_events_as_its_histories(tmp_path, events, tiny_st_folder,
                                                          monkeypatch) -> None:  # fmt: skip
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    events.write_parquet(tmp_path / "events.parquet")
    made = runner.invoke(app, ["data", "serialize", str(tmp_path / "events.parquet"), "--out",
                               str(tmp_path / "h.parquet"), "--time-prefix", "date"])  # fmt: skip
    assert made.exit_code == 0, made.output
    trained = runner.invoke(app, ["pretrain", "--histories", str(tmp_path / "h.parquet"),
                                  "--out", str(tmp_path / "m"), "--objective", "slices",
                                  "--backbone", str(tiny_st_folder), "--max-steps", "1",
                                  "--batch-size", "8"])  # fmt: skip
    assert trained.exit_code == 0, trained.output
    encoder = UserEncoder.load(tmp_path / "m", models_dir=tmp_path / "home" / "models")
    assert encoder.config.rendering["time_prefix"] == "date"
    from_events = encoder.encode_events(events)
    # The training rendering over the full history, exactly as a training-time history is read.
    full = serialize(events, SerializeConfig(max_events=None, time_prefix="date"))
    from_histories = encoder.encode(full)
    np.testing.assert_allclose(
        from_events["vector"].to_numpy(), from_histories["vector"].to_numpy(), atol=1e-6
    )
    # Without the recorded rendering the same events would embed differently.
    plain = encoder.encode(serialize(events, SerializeConfig(max_events=None)))
    assert not np.allclose(plain["vector"].to_numpy(), from_events["vector"].to_numpy(), atol=1e-4)
