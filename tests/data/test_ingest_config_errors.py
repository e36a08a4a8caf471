"""Config and whole-file problems: a ByodError naming the problem; in the CLI one line, exit 2."""

import dataclasses
import gzip

import polars as pl
import pytest
from typer.testing import CliRunner

from byod.cli.main import app
from byod.data.config import IngestConfig, SourceConfig, load_ingest_config
from byod.data.ingest import ingest
from byod.errors import ByodError, ConfigError, InputFileError

GOOD = "uid,ts,title\nu1,2024-01-01 00:00:00,a\n"
SOURCE_KEYS = [f.name for f in dataclasses.fields(SourceConfig)]
TOP_KEYS = [f.name for f in dataclasses.fields(IngestConfig)]

# id -> (source overrides, top-level overrides, files to write, error class, message parts)
CASES = {
    "unknown_source_key": (
        {"colour": "red"}, {}, {"s.csv": GOOD}, ConfigError,
        ["unknown key(s) ['colour']", f"valid keys are {SOURCE_KEYS}"],
    ),
    "unknown_top_key": (
        {}, {"outptu": "x.parquet"}, {"s.csv": GOOD}, ConfigError,
        ["unknown key(s) ['outptu']", f"valid keys are {TOP_KEYS}"],
    ),
    "missing_template_column": (
        {"text": "{title} {price}"}, {}, {"s.csv": GOOD}, ConfigError,
        ["['price'] not found", "columns are ['uid', 'ts', 'title']", "optional_columns"],
    ),
    "missing_user_column": (
        {"user_column": "user"}, {}, {"s.csv": GOOD}, ConfigError,
        ["['user'] not found", "columns are ['uid', 'ts', 'title']"],
    ),
    "missing_extra_column": (
        {"extra_columns": ["rating"]}, {}, {"s.csv": GOOD}, ConfigError, ["['rating'] not found"],
    ),
    "missing_item_column": (
        {"item_column": "sku"}, {}, {"s.csv": GOOD}, ConfigError, ["['sku'] not found"],
    ),
    "missing_jsonl_key": (
        {"path": "s.jsonl", "text": "{name}"}, {},
        {"s.jsonl": '{"uid": "u1", "ts": "2024-01-01", "title": "a"}\n'}, ConfigError,
        ["['name'] not found", "columns are ['uid', 'ts', 'title']"],
    ),
    "missing_file": ({"path": "nope.csv"}, {}, {}, InputFileError, ["nope.csv: file not found"]),
    "empty_file": ({}, {}, {"s.csv": ""}, InputFileError, ["file is empty"]),
    "empty_jsonl": ({"path": "s.jsonl"}, {}, {"s.jsonl": "\n\n"}, InputFileError, ["file is empty"]),
    "blank_header": ({}, {}, {"s.csv": "\nu1,2024-01-01,a\n"}, InputFileError, ["no header row"]),
    "empty_parquet": ({"path": "s.parquet"}, {}, {"s.parquet": ""}, InputFileError, ["empty"]),
    "directory": ({"path": "d.csv"}, {}, {"d.csv/": None}, InputFileError, ["is a directory"]),
    "repeated_header": (
        {}, {}, {"s.csv": "uid,ts,uid\n1,2,3\n"}, InputFileError, ["repeats column name(s) ['uid']"],
    ),
    "empty_header_name": (
        {}, {}, {"s.csv": "uid,,ts,title\n1,2,3,4\n"}, InputFileError, ["empty column name"],
    ),
    "corrupt_gzip": (
        {"path": "s.csv.gz"}, {}, {"s.csv.gz": "not gzip at all"}, InputFileError, ["cannot be read"],
    ),
    "corrupt_parquet": (
        {"path": "s.parquet"}, {}, {"s.parquet": "not parquet"}, InputFileError,
        ["cannot be read as Parquet"],
    ),
    "unknown_encoding_csv": (
        {"encoding": "klingon"}, {}, {"s.csv": GOOD}, InputFileError, ["unknown encoding 'klingon'"],
    ),
    "bad_timezone": (
        {"timezone": "Mars/Olympus"}, {}, {"s.csv": GOOD}, ConfigError,
        ["'Mars/Olympus' is not an IANA time zone"],
    ),
    "bad_time_format": (
        {"time_format": "sometimes"}, {}, {"s.csv": GOOD}, ConfigError,
        ["time_format: 'sometimes' is not one of ['epoch_s', 'epoch_ms', 'iso8601', 'ordinal']"],
    ),
    "service_and_service_column": (
        {"service": "x", "service_column": "title"}, {}, {"s.csv": GOOD}, ConfigError,
        ["exactly one of `service`"],
    ),
    "neither_service_nor_column": (
        {"service": None}, {}, {"s.csv": GOOD}, ConfigError, ["exactly one of `service`"],
    ),
    "template_without_fields": (
        {"text": "plain text"}, {}, {"s.csv": GOOD}, ConfigError, ["uses no columns"],
    ),
    "template_positional": ({"text": "{} {0}"}, {}, {"s.csv": GOOD}, ConfigError, ["column names"]),
    "template_conversion": ({"text": "{title!r}"}, {}, {"s.csv": GOOD}, ConfigError, ["conversion"]),
    "template_spec": ({"text": "{title:>10}"}, {}, {"s.csv": GOOD}, ConfigError, ["format spec"]),
    "template_malformed": ({"text": "{title"}, {}, {"s.csv": GOOD}, ConfigError, ["malformed"]),
    "missing_required_key": (
        {"time_column": None}, {}, {"s.csv": GOOD}, ConfigError, ["missing required key 'time_column'"],
    ),
    "non_string_value": ({"service": 5}, {}, {"s.csv": GOOD}, ConfigError, ["expected a string"]),
    "bad_extra_columns": (
        {"extra_columns": [1, 2]}, {}, {"s.csv": GOOD}, ConfigError, ["expected a list of column names"],
    ),
    "bad_drop_duplicates": (
        {}, {"drop_duplicates": "yes"}, {"s.csv": GOOD}, ConfigError, ["expected true or false"],
    ),
    "unknown_format": ({"format": "xlsx"}, {}, {"s.csv": GOOD}, ConfigError, ["'xlsx' is not one of"]),
    "unknown_suffix": ({"path": "s.xlsx"}, {}, {"s.xlsx": GOOD}, ConfigError, ["cannot tell the format"]),
    "sources_not_a_list": (None, {"sources": {"path": "s.csv"}}, {}, ConfigError, ["expected a list"]),
    "source_not_a_mapping": (None, {"sources": ["s.csv"]}, {}, ConfigError, ["expected a mapping"]),
    "missing_output": (
        {}, {"output": None}, {"s.csv": GOOD}, ConfigError, ["missing required key 'output'"],
    ),
}  # fmt: skip


def _write_case(tmp_path, write_config, case):
    source, top, files, _, _ = case
    for name, content in files.items():
        if content is None:
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_text(content, encoding="utf-8")
    if source is None:  # the `sources` value itself is broken (given in `top`)
        return write_config(**top)
    return write_config({"path": "s.csv", **source}, **top)


def _cli(cfg):
    result = CliRunner().invoke(app, ["data", "ingest", str(cfg)])
    return result


def _assert_one_line_error(result, parts) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for part in parts:
        assert part in lines[0]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_api_raises_a_byod_error(tmp_path, write_config, case) -> None:
    cfg = _write_case(tmp_path, write_config, case)
    with pytest.raises(ByodError) as err:
        ingest(load_ingest_config(cfg))
    assert type(err.value) is case[3]
    for part in case[4]:
        assert part in str(err.value)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_cli_prints_one_line_and_exits_2(tmp_path, write_config, case) -> None:
    cfg = _write_case(tmp_path, write_config, case)
    _assert_one_line_error(_cli(cfg), case[4])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "expected a mapping"),  # 0-byte config
        (b"sources: [\n  - a: b\n  c", "not valid YAML"),
        (b"- just\n- a list\n", "expected a mapping"),
        (b"sources: \xff\xfe\n", "not valid YAML"),  # not UTF-8
        (b"output: o.parquet\nrejects: r.csv\n", "missing required key 'sources'"),
    ],
    ids=["empty", "invalid_yaml", "list", "not_utf8", "no_sources"],
)
def test_broken_config_files(tmp_path, content, message) -> None:
    cfg = tmp_path / "ingest.yaml"
    cfg.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_ingest_config(cfg)
    _assert_one_line_error(_cli(cfg), [message])


def test_config_file_not_found(tmp_path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_ingest_config(tmp_path / "absent.yaml")
    _assert_one_line_error(_cli(tmp_path / "absent.yaml"), ["absent.yaml: config file not found"])


def test_numeric_time_column_with_a_text_format(tmp_path, write_config) -> None:
    pl.DataFrame({"uid": ["u1"], "ts": [1704067200], "title": ["a"]}).write_parquet(
        tmp_path / "s.parquet"
    )
    cfg = write_config({"path": "s.parquet"})
    _assert_one_line_error(_cli(cfg), ["column 'ts' is numeric", "use epoch_s or epoch_ms"])


def test_relative_paths_resolve_against_the_config_file(tmp_path, write_config) -> None:
    (tmp_path / "s.csv").write_text(GOOD)
    cfg = load_ingest_config(write_config({"path": "s.csv"}, summary="sum.json"))
    assert cfg.sources[0].path == (tmp_path / "s.csv").resolve()
    assert cfg.output == (tmp_path / "out/events.parquet").resolve()
    assert cfg.summary_path == (tmp_path / "sum.json").resolve()
    assert cfg.sources[0].required_columns() == ["uid", "ts", "title"]


def test_non_string_path_is_a_config_error(tmp_path, write_config) -> None:
    with pytest.raises(ConfigError):
        load_ingest_config(write_config({"path": 2024}))


def test_non_string_output_is_a_config_error(tmp_path, write_config) -> None:
    (tmp_path / "s.csv").write_text(GOOD)
    with pytest.raises(ConfigError):
        load_ingest_config(write_config({"path": "s.csv"}, output=5))


def test_unknown_encoding_on_jsonl_is_a_byod_error(tmp_path, write_config) -> None:
    (tmp_path / "s.jsonl").write_text('{"uid": "u1", "ts": "2024-01-01", "title": "a"}\n')
    with pytest.raises(ByodError, match="klingon"):
        ingest(load_ingest_config(write_config({"path": "s.jsonl", "encoding": "klingon"})))


def test_error_message_keeps_square_brackets(tmp_path) -> None:
    folder = tmp_path / "logs[old]"
    folder.mkdir()
    cfg = folder / "ingest.yaml"
    cfg.write_text(
        "sources:\n- {path: nope.csv, service: s, user_column: u, time_column: t, text: '{x}'}\n"
        "output: o.parquet\nrejects: r.csv\n"
    )
    result = _cli(cfg)
    assert result.exit_code == 2
    assert "logs[old]" in result.stderr


def test_gzip_header_of_a_corrupt_member(tmp_path, write_config) -> None:
    # A truncated gzip stream: the header can be read, the body cannot.
    data = gzip.compress(GOOD.encode() * 200)[:-30]
    (tmp_path / "s.csv.gz").write_bytes(data)
    with pytest.raises(ByodError):
        ingest(load_ingest_config(write_config({"path": "s.csv.gz"})))
