"""Order-only logs (``time_format: ordinal``): steps instead of times, from ingest to splits."""

from datetime import UTC, datetime

import polars as pl
import pytest

from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.data.serialize import SerializeConfig, serialize
from byod.data.splits import leave_one_out, time_cut
from byod.data.timeparse import MAX_STEP
from byod.errors import ByodError, ConfigError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture
def two_services(tmp_path, write_config):
    """Two interleaved logs of one merged timeline (as the Amazon arts / office files)."""
    (tmp_path / "arts.csv").write_text(
        "uid,step,title\nu1,4,paint\nu1,0,brush\nu2,1,glue\nu1,2,ink\n"
    )
    (tmp_path / "office.csv").write_text(
        "uid,step,title\nu1,3,pen\nu1,1,clip\nu2,0,tape\nu2,1,desk\n"
    )
    return write_config(
        {"path": "arts.csv", "service": "arts", "time_column": "step", "time_format": "ordinal"},
        {
            "path": "office.csv",
            "service": "office",
            "time_column": "step",
            "time_format": "ordinal",
        },
    )


def test_ordinal_logs_ingest_and_serialize_in_order(two_services, run_ingest) -> None:
    result, rejects = run_ingest(two_services)
    events = result.events
    assert rejects.height == 0 and events.height == 8
    assert events.schema["step"] == pl.Int64
    # One step is one day after 1970-01-01: recency counted in days counts steps.
    days = events.select((pl.col("timestamp") - pl.lit(EPOCH)).dt.total_days())
    assert days.to_series().to_list() == events["step"].to_list()
    summary = result.summary
    assert summary["order"] == "ordinal" and summary["first_timestamp"] is None
    assert (summary["first_step"], summary["last_step"]) == (0, 4)
    merged = serialize(events, SerializeConfig(by_service=False)).sort("user_id")
    assert merged["event_texts"].to_list() == [
        ["brush", "clip", "ink", "pen", "paint"],
        # u2: glue (arts) and desk (office) share step 1; seq (arts read first) breaks the tie
        ["tape", "glue", "desk"],
    ]
    per_service = serialize(events).filter(pl.col("user_id") == "u1")
    assert per_service["event_texts"].to_list() == [["brush", "ink", "paint"], ["clip", "pen"]]


def test_bad_steps_are_rejected_with_a_reason(tmp_path, write_config, run_ingest) -> None:
    bad = ["1.5", "-1", "abc", "", "1e3", str(MAX_STEP + 1), "12 3"]
    rows = "".join(f"u1,{v},t{i}\n" for i, v in enumerate(bad))
    (tmp_path / "log.csv").write_text(f"uid,step,title\nu1, 7 ,ok\n{rows}")
    cfg = write_config({"path": "log.csv", "time_column": "step", "time_format": "ordinal"})
    result, rejects = run_ingest(cfg)
    assert result.events["step"].to_list() == [7]
    assert set(rejects["reason"]) == {"bad_timestamp"} and rejects.height == len(bad)
    assert set(rejects["column"]) == {"step"}
    assert (
        "'1.5' is not an ordinal step (a whole number from 0 to 2,900,000)" in rejects["detail"][0]
    )
    assert '"step":"-1"' in rejects["raw"][1]  # the raw value, not the parsed one


def test_parquet_steps(tmp_path, write_config, run_ingest) -> None:
    pl.DataFrame(
        {"uid": ["a", "a", "a"], "n": [2.0, 2.5, float("nan")], "title": list("xyz")}
    ).write_parquet(tmp_path / "f.parquet")
    cfg = write_config({"path": "f.parquet", "time_column": "n", "time_format": "ordinal"})
    result, rejects = run_ingest(cfg)
    assert result.events["step"].to_list() == [2]
    assert rejects["row"].to_list() == [2, 3]
    pl.DataFrame({"uid": ["a"], "n": [datetime(2024, 1, 1)], "title": ["x"]}).write_parquet(
        tmp_path / "d.parquet"
    )
    cfg = write_config({"path": "d.parquet", "time_column": "n", "time_format": "ordinal"})
    with pytest.raises(ConfigError, match="cannot hold ordinal steps"):
        ingest(load_ingest_config(cfg))


def test_ordinal_config_mistakes(tmp_path, write_config) -> None:
    (tmp_path / "a.csv").write_text("uid,ts,title\nu1,1,x\n")
    ordinal = {"path": "a.csv", "time_format": "ordinal"}
    with pytest.raises(ConfigError, match="ordinal holds steps, not times; remove `timezone`"):
        load_ingest_config(write_config({**ordinal, "timezone": "Asia/Seoul"}))
    with pytest.raises(ConfigError, match="some sources are ordinal"):
        load_ingest_config(write_config(ordinal, {"path": "a.csv", "time_format": "epoch_s"}))


def test_serialize_refuses_clock_times_on_ordinal_events(two_services, run_ingest) -> None:
    events = run_ingest(two_services)[0].events
    with pytest.raises(ConfigError, match="time_prefix 'date' needs clock times.*ordinal"):
        serialize(events, SerializeConfig(time_prefix="date"))
    with pytest.raises(ConfigError, match="start / end are clock times"):
        serialize(events, SerializeConfig(start=datetime(1970, 1, 3)))


def test_splits_on_ordinal_events(two_services, run_ingest) -> None:
    events = run_ingest(two_services)[0].events
    split = leave_one_out(events)
    assert dict(split.test.select("user_id", "text").iter_rows()) == {"u1": "paint", "u2": "desk"}
    assert dict(split.valid.select("user_id", "text").iter_rows()) == {"u1": "pen", "u2": "glue"}
    assert split.history.filter(pl.col("user_id") == "u2")["text"].to_list() == ["tape"]
    cut = time_cut(events, 2, horizon=2)
    assert sorted(cut.history["step"]) == [0, 0, 1, 1, 1]
    assert sorted(cut.future["step"]) == [2, 3]
    with pytest.raises(ByodError, match="ordinal .* cut at a step"):
        time_cut(events, datetime(1970, 1, 3))
    with pytest.raises(ByodError, match="timed: cut at a datetime"):
        time_cut(events.drop("step"), 2)


def test_data_dir_in_the_yaml_and_from_the_caller(tmp_path, write_config) -> None:
    data, other, out = tmp_path / "data", tmp_path / "other", tmp_path / "out"
    data.mkdir(), other.mkdir()
    (data / "a.csv").write_text("uid,ts,title\nu1,1,x\n")
    (other / "a.csv").write_text("uid,ts,title\nu1,1,x\nu2,2,y\n")
    cfg = write_config({"path": "a.csv", "time_format": "ordinal"}, data_dir="data")
    assert load_ingest_config(cfg).sources[0].path == data / "a.csv"
    moved = load_ingest_config(cfg, data_dir=other, out_dir=out)
    assert moved.sources[0].path == other / "a.csv" and moved.data_dir == other
    assert moved.output == out / "out" / "events.parquet"
    assert ingest(moved).summary["read"] == 2 and moved.output.is_file()
    with pytest.raises(ConfigError, match="data folder .*missing not found"):
        load_ingest_config(write_config({"path": "a.csv"}, data_dir="missing"))
