import polars as pl
import pytest
from typer.testing import CliRunner

from byod.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [[], ["data"], ["data", "ingest"], ["data", "serialize"], ["data", "split"], ["data", "builtin"],
     ["models"], ["models", "list"], ["models", "install"], ["pretrain"], ["embed"], ["demo"]],
)  # fmt: skip
def test_help_everywhere(args) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_serialize_and_split_commands(tmp_path, events) -> None:
    events.write_parquet(tmp_path / "events.parquet")
    out = runner.invoke(app, ["data", "serialize", str(tmp_path / "events.parquet"), "--out",
                              str(tmp_path / "h.parquet"), "--max-events", "5"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert pl.read_parquet(tmp_path / "h.parquet")["n_events"].max() == 5
    out = runner.invoke(
        app, ["data", "split", str(tmp_path / "events.parquet"), "--out", str(tmp_path / "s")]
    )
    assert out.exit_code == 0, out.output
    assert {p.name for p in (tmp_path / "s").iterdir()} == {
        "history.parquet",
        "valid.parquet",
        "test.parquet",
        "split.json",
    }
    out = runner.invoke(
        app,
        [
            "data",
            "split",
            str(tmp_path / "events.parquet"),
            "--method",
            "time",
            "--out",
            str(tmp_path / "t"),
        ],
    )
    assert out.exit_code == 2 and "--cut" in out.output


def test_reading_a_non_events_table_is_a_clear_error(tmp_path) -> None:
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "x.parquet")
    out = runner.invoke(
        app,
        ["data", "serialize", str(tmp_path / "x.parquet"), "--out", str(tmp_path / "h.parquet")],
    )
    assert out.exit_code == 2 and "missing column(s)" in out.output


def test_serialize_separator_escapes_and_unicode(tmp_path, events) -> None:
    events.write_parquet(tmp_path / "events.parquet")
    for sep, expected in (("\\n", "\n"), (" · ", " · ")):
        out = runner.invoke(app, ["data", "serialize", str(tmp_path / "events.parquet"), "--out",
                                  str(tmp_path / "h.parquet"), "--separator", sep])  # fmt: skip
        assert out.exit_code == 0, out.output
        row = pl.read_parquet(tmp_path / "h.parquet").row(0, named=True)
        assert row["text"] == expected.join(row["event_texts"])
