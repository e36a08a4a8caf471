"""``byod data ...`` end to end on tiny files: help, ingest, serialize, split."""

import json
from datetime import UTC, datetime

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from byod import __version__
from byod.cli.main import app
from byod.data.schema import EVENT_SCHEMA, HISTORY_SCHEMA

runner = CliRunner()

LOG = (
    "uid,ts,title,svc\n"
    "u1,2024-01-01T00:00:00Z,a,shop\n"
    "u1,2024-01-02T00:00:00Z,b,shop\n"
    "u1,2024-01-03T00:00:00Z,c,news\n"
    "u1,2024-01-04T00:00:00Z,d,shop\n"
    "u2,2024-01-01T00:00:00Z,e,shop\n"
    "u2,bad,f,shop\n"
    "u2,2024-01-01T00:00:00Z,e,shop\n"
)


@pytest.fixture
def events_path(tmp_path):
    (tmp_path / "log.csv").write_text(LOG)
    cfg = {
        "sources": [{"path": "log.csv", "service_column": "svc", "user_column": "uid",
                     "time_column": "ts", "text": "{title}"}],
        "output": "out/events.parquet",
        "rejects": "out/rejects.csv",
    }  # fmt: skip
    (tmp_path / "ingest.yaml").write_text(yaml.safe_dump(cfg))
    result = runner.invoke(app, ["data", "ingest", str(tmp_path / "ingest.yaml")])
    assert result.exit_code == 0, result.output
    return tmp_path / "out/events.parquet"


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["data"],
        ["data", "ingest"],
        ["data", "serialize"],
        ["data", "split"],
        ["data", "builtin"],
    ],
)
def test_help(args) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_data_help_lists_every_command() -> None:
    out = runner.invoke(app, ["data", "--help"]).output
    for cmd in ("ingest", "serialize", "split", "builtin"):
        assert cmd in out


def test_no_arguments_shows_help_and_version() -> None:
    result = runner.invoke(app, ["data"])
    assert "Usage" in result.output and result.exit_code in (0, 2)
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.strip() == f"byod {__version__}"


def test_ingest_writes_events_rejects_and_summary(events_path) -> None:
    out = events_path.parent
    events = pl.read_parquet(events_path)
    assert dict(events.schema) == EVENT_SCHEMA
    assert events.height == 5 and set(events["service"]) == {"shop", "news"}
    rejects = pl.read_csv(out / "rejects.csv")
    assert rejects.select("row", "reason").rows() == [(7, "bad_timestamp"), (8, "duplicate")]
    summary = json.loads((out / "events.summary.json").read_text())
    assert (summary["read"], summary["accepted"], summary["rejected"], summary["duplicates"]) == (
        7,
        5,
        1,
        1,
    )


def test_ingest_prints_the_counts(tmp_path, events_path) -> None:
    result = runner.invoke(app, ["data", "ingest", str(tmp_path / "ingest.yaml")])
    assert result.exit_code == 0
    assert "log.csv" in result.output and "bad_timestamp 1" in result.output
    assert "rejects:" in result.output


def test_serialize_defaults(tmp_path, events_path) -> None:
    out = tmp_path / "h.parquet"
    result = runner.invoke(app, ["data", "serialize", str(events_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    h = pl.read_parquet(out)
    assert h.schema == pl.Schema(HISTORY_SCHEMA)
    assert h.select("user_id", "service", "text").rows() == [
        ("u1", "news", "c"),
        ("u1", "shop", "a\nb\nd"),
        ("u2", "shop", "e"),
    ]
    assert "histories: 3 for 2 users" in result.output


def test_serialize_options(tmp_path, events_path) -> None:
    out = tmp_path / "h.parquet"
    args = ["data", "serialize", str(events_path), "--out", str(out), "--max-events", "2",
            "--separator", " | ", "--time-prefix", "date", "--merge-services",
            "--start", "2024-01-02", "--end", "2024-01-04T00:00:00"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    h = pl.read_parquet(out)
    assert h.select("user_id", "service", "text", "n_events_total").rows() == [
        ("u1", "*", "[2024-01-02] b | [2024-01-03] c", 2)
    ]
    result = runner.invoke(
        app, ["data", "serialize", str(events_path), "--out", str(out), "--max-chars", "3"]
    )
    assert result.exit_code == 0
    assert pl.read_parquet(out)["text"].str.len_chars().max() <= 3


def test_serialize_bad_option_is_a_one_line_error(tmp_path, events_path) -> None:
    result = runner.invoke(
        app,
        ["data", "serialize", str(events_path), "--out", str(tmp_path / "h.parquet"),
         "--time-prefix", "week"],
    )  # fmt: skip
    assert result.exit_code == 2 and "time_prefix must be one of" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "h.parquet").exists()


def test_split_leave_one_out(tmp_path, events_path) -> None:
    out = tmp_path / "split"
    result = runner.invoke(app, ["data", "split", str(events_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "history.parquet",
        "valid.parquet",
        "test.parquet",
        "split.json",
    }
    assert pl.read_parquet(out / "test.parquet")["text"].to_list() == ["d"]
    assert pl.read_parquet(out / "valid.parquet")["text"].to_list() == ["c"]
    history = pl.read_parquet(out / "history.parquet")
    assert history.select("user_id", "text").rows() == [("u1", "a"), ("u1", "b"), ("u2", "e")]
    counts = json.loads((out / "split.json").read_text())
    assert counts["test"] == {"events": 1, "users": 1}
    assert counts["history"] == {"events": 3, "users": 2}
    service = runner.invoke(
        app, ["data", "split", str(events_path), "--out", str(out), "--service", "shop"]
    )
    assert service.exit_code == 0
    assert pl.read_parquet(out / "valid.parquet")["text"].to_list() == ["b"]


def test_split_time(tmp_path, events_path) -> None:
    out = tmp_path / "t"
    result = runner.invoke(
        app,
        ["data", "split", str(events_path), "--out", str(out), "--method", "time",
         "--cut", "2024-01-02", "--horizon-days", "1.5"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"history.parquet", "future.parquet", "split.json"}
    assert pl.read_parquet(out / "history.parquet")["text"].to_list() == ["a", "e"]
    future = pl.read_parquet(out / "future.parquet")
    assert future["text"].to_list() == ["b", "c"]
    assert future["timestamp"].max() < datetime(2024, 1, 3, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "time"], "--cut"),
        (["--method", "random"], "must be 'loo' or 'time'"),
        (["--service", "video"], "no events to split in service 'video'"),
    ],
)
def test_split_errors(tmp_path, events_path, extra, message) -> None:
    result = runner.invoke(
        app, ["data", "split", str(events_path), "--out", str(tmp_path / "s"), *extra]
    )
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("command", ["serialize", "split"])
def test_commands_refuse_missing_or_foreign_tables(tmp_path, command) -> None:
    out = ["--out", str(tmp_path / "o")]
    missing = runner.invoke(app, ["data", command, str(tmp_path / "none.parquet"), *out])
    assert missing.exit_code == 2 and "file not found" in missing.stderr
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "x.parquet")
    foreign = runner.invoke(app, ["data", command, str(tmp_path / "x.parquet"), *out])
    assert foreign.exit_code == 2 and "not a byod events table" in foreign.stderr
    (tmp_path / "x.csv").write_text("a,b\n")
    not_parquet = runner.invoke(app, ["data", command, str(tmp_path / "x.csv"), *out])
    assert not_parquet.exit_code == 2 and "cannot be read as Parquet" in not_parquet.stderr


def test_builtin_unknown_dataset(tmp_path) -> None:
    result = runner.invoke(app, ["data", "builtin", "ml-42m", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown built-in dataset 'ml-42m'" in result.stderr
    assert "ml-1m" in result.stderr and "ml-100k" in result.stderr
