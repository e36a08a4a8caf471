"""Config and file-level problems: a ByodError with a one-line reason, exit code 2 in the CLI."""

import pytest
from typer.testing import CliRunner

from byod.cli.main import app
from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.errors import ByodError

GOOD = "uid,ts,title\nu1,2024-01-01 00:00:00,a\n"


def _cli(cfg) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["data", "ingest", str(cfg)])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("source", "top", "files", "message"),
    [
        (
            {"path": "s.csv", "colour": "red"},
            {},
            {"s.csv": GOOD},
            "unknown key(s) ['colour']; valid keys are",
        ),
        (
            {"path": "s.csv", "text": "{title} {missing}"},
            {},
            {"s.csv": GOOD},
            "['missing'] not found; columns are ['uid', 'ts', 'title']",
        ),
        ({"path": "nope.csv"}, {}, {}, "file not found"),
        ({"path": "s.csv"}, {}, {"s.csv": ""}, "file is empty"),
        (
            {"path": "s.csv", "timezone": "Mars/Olympus"},
            {},
            {"s.csv": GOOD},
            "not an IANA time zone",
        ),
        ({"path": "s.csv", "time_format": "sometimes"}, {}, {"s.csv": GOOD}, "time_format"),
        (
            {"path": "s.csv", "service": "x", "service_column": "title"},
            {},
            {"s.csv": GOOD},
            "exactly one of `service`",
        ),
        ({"path": "s.csv", "text": "plain"}, {}, {"s.csv": GOOD}, "uses no columns"),
        ({"path": "s.xlsx"}, {}, {"s.xlsx": GOOD}, "cannot tell the format"),
        ({"path": "s.csv"}, {"extra": 1}, {"s.csv": GOOD}, "unknown key(s) ['extra']"),
        ({"path": "s.csv"}, {}, {"s.csv": "uid,uid,ts\n1,2,3\n"}, "repeats column name(s) ['uid']"),
    ],
)
def test_config_and_file_errors(tmp_path, write_config, source, top, files, message) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    cfg = write_config(source, **top)
    with pytest.raises(ByodError) as err:
        ingest(load_ingest_config(cfg))
    assert message in str(err.value)
    code, output = _cli(cfg)
    assert code == 2
    assert "Traceback" not in output and "error:" in output


def test_invalid_yaml_and_missing_config(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [\n")
    code, output = _cli(bad)
    assert code == 2 and "not valid YAML" in output
    code, output = _cli(tmp_path / "absent.yaml")
    assert code == 2 and "config file not found" in output
