"""Ingestion config: which files, which columns, how to render each row as text.

Frozen dataclasses built from YAML. Unknown keys fail with the list of valid keys, so a typo never
silently changes what is ingested. Example::

    sources:
      - path: purchases.csv          # csv | tsv | parquet | jsonl, .gz allowed
        service: shopping            # a constant, or service_column: <column>
        user_column: uid
        time_column: ts
        time_format: epoch_s         # epoch_s | epoch_ms | iso8601 | a strftime pattern | ordinal
        timezone: Asia/Seoul         # applied to naive timestamps; stored as UTC
        text: "{title} | {category} | {price} KRW"
        item_column: item_id         # optional
    output: out/events.parquet
    rejects: out/rejects.csv
"""

from __future__ import annotations

import dataclasses
import re
import string
import zoneinfo
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from byod.errors import ConfigError, check_keys

__all__ = ["SourceConfig", "IngestConfig", "load_ingest_config", "FORMATS", "TIME_FORMATS"]

FORMATS = ("csv", "tsv", "parquet", "jsonl")
# Or any strftime pattern containing '%'. `ordinal`: the time column holds integer steps.
TIME_FORMATS = ("epoch_s", "epoch_ms", "iso8601", "ordinal")
_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


@dataclasses.dataclass(frozen=True)
class SourceConfig:
    """One log file mapped onto the event contract.

    Attributes:
        path: the file (absolute, or relative to the config file).
        user_column: column holding the user id.
        time_column: column holding the event time.
        text: template over the row's columns, ``"{title} | {price} KRW"``; ``{{`` for a brace.
        service: constant service name for every row (or use ``service_column``).
        service_column: column holding the service name, when one file mixes services.
        time_format: ``epoch_s``, ``epoch_ms``, ``iso8601``, a strftime pattern, or ``ordinal``
            (the time column holds each event's integer step: order only, no clock time).
        timezone: IANA zone applied to naive timestamps; everything is stored as UTC.
        item_column: optional column holding the item id.
        extra_columns: columns copied as-is into the events table (as strings).
        optional_columns: template columns that may be absent from the file (read as null).
        format: override the format guessed from the suffix (csv, tsv, parquet, jsonl).
        delimiter: override the field delimiter for csv / tsv.
        encoding: text encoding of csv / tsv / jsonl files.

    """

    path: Path
    user_column: str
    time_column: str
    text: str
    service: str | None = None
    service_column: str | None = None
    time_format: str = "iso8601"
    timezone: str = "UTC"
    item_column: str | None = None
    extra_columns: tuple[str, ...] = ()
    optional_columns: tuple[str, ...] = ()
    format: str | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"

    @property
    def file_format(self) -> str:
        """The format: explicit ``format`` or guessed from the suffix (``.gz`` ignored)."""
        if self.format:
            return self.format
        suffixes = [s.lower() for s in self.path.suffixes]
        if suffixes and suffixes[-1] in (".gz", ".gzip"):
            suffixes = suffixes[:-1]
        fmt = _SUFFIX_FORMATS.get(suffixes[-1] if suffixes else "")
        if fmt is None:
            raise ConfigError(
                f"{self.path}: cannot tell the format from the suffix "
                f"{''.join(self.path.suffixes)!r}; "
                f"set `format` to one of {list(FORMATS)}"
            )
        return fmt

    @property
    def ordinal(self) -> bool:
        """Whether the time column holds integer steps (an order-only log)."""
        return self.time_format == "ordinal"

    @property
    def template_fields(self) -> tuple[str, ...]:
        """Column names referenced by the text template, in order of first use."""
        return template_fields(self.text)

    def required_columns(self) -> list[str]:
        """Columns that must exist in the file (optional template columns excluded)."""
        cols = [self.user_column, self.time_column]
        cols += [self.service_column] if self.service_column else []
        cols += [self.item_column] if self.item_column else []
        cols += [c for c in self.template_fields if c not in self.optional_columns]
        cols += list(self.extra_columns)
        return list(dict.fromkeys(cols))


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    """Several sources (one per service, usually) and where the results go.

    Attributes:
        sources: the log files.
        output: the events Parquet file.
        rejects: the CSV of rejected rows (source, row, reason, column, detail, raw).
        summary: the JSON summary (default: ``<output>.summary.json``).
        drop_duplicates: drop events identical in user, time, service, text and item.
        data_dir: the folder relative source paths were resolved against (YAML: relative to
            the config file; a caller's ``data_dir`` wins), when the data lives apart.

    """

    sources: tuple[SourceConfig, ...]
    output: Path
    rejects: Path
    summary: Path | None = None
    drop_duplicates: bool = True
    data_dir: Path | None = None

    @property
    def summary_path(self) -> Path:
        """Where the JSON summary is written."""
        return self.summary or self.output.with_name(self.output.stem + ".summary.json")


def template_fields(template: str) -> tuple[str, ...]:
    """Return the column names a ``str.format``-style template uses.

    Raises:
        ConfigError: malformed braces, positional fields, or format specs / conversions.

    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"text template {template!r} is malformed: {exc}") from exc
    fields = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name or name.isdigit():
            raise ConfigError(
                f"text template {template!r}: use column names inside braces, not {{}}"
            )
        if spec or conversion:
            raise ConfigError(
                f"text template {template!r}: field {{{name}}} has a format spec or conversion; "
                "only plain {column} fields are supported"
            )
        fields.append(name)
    if not fields:
        raise ConfigError(f"text template {template!r} uses no columns; write e.g. '{{title}}'")
    return tuple(dict.fromkeys(fields))


def _check_keys(raw: dict[str, Any], cls: type, where: str) -> None:
    check_keys(raw, [f.name for f in dataclasses.fields(cls)], where)


def _str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: expected a list of column names, got {value!r}")


def _source(raw: Any, base: Path, where: str) -> SourceConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {type(raw).__name__}")
    _check_keys(raw, SourceConfig, where)
    for key in ("path", "user_column", "time_column", "text"):
        if not raw.get(key):
            raise ConfigError(f"{where}: missing required key {key!r}")
    if bool(raw.get("service")) == bool(raw.get("service_column")):
        raise ConfigError(f"{where}: set exactly one of `service` (a constant) or `service_column`")
    if not isinstance(raw["path"], str):
        raise ConfigError(f"{where}.path: expected a file path string, got {raw['path']!r}")
    kw = {k: v for k, v in raw.items() if v is not None}
    kw["path"] = (
        (base / str(raw["path"])).resolve()
        if not Path(raw["path"]).is_absolute()
        else Path(raw["path"])
    )
    for key in ("extra_columns", "optional_columns"):
        if key in kw:
            kw[key] = _str_tuple(kw[key], f"{where}.{key}")
    for key, value in kw.items():
        if key not in ("path", "extra_columns", "optional_columns") and not isinstance(value, str):
            raise ConfigError(f"{where}.{key}: expected a string, got {value!r}")
    src = SourceConfig(**kw)
    _check_source(src, where)
    return src


# Directives the parser (chrono, behind polars) knows; anything else would reject every row.
_STRFTIME_DIRECTIVES = set("YCyqmbBhdeaAwuUWGgVjDxFvHkIlPpMSfRTXrZzstn%+")
_DIRECTIVE = re.compile(r"%[-_0^#]?[.\d]*:{0,2}(.)")


def _check_strftime(pattern: str, where: str) -> None:
    """Unknown directives and patterns the parser refuses are config errors, not rejected rows."""
    unknown = sorted({m for m in _DIRECTIVE.findall(pattern) if m not in _STRFTIME_DIRECTIVES})
    if unknown:
        raise ConfigError(
            f"{where}: {pattern!r} uses unknown directive(s) {['%' + u for u in unknown]}; "
            "see the strftime table (e.g. %Y %m %d %H %M %S %z)"
        )
    try:
        pl.Series(["2024-01-01"]).str.to_datetime(pattern, time_unit="us", strict=False)
    except pl.exceptions.ComputeError as exc:
        reason = str(exc).strip().splitlines()[0]
        raise ConfigError(f"{where}: {pattern!r} cannot be used to parse times ({reason})") from exc


def _check_source(src: SourceConfig, where: str) -> None:
    if src.format and src.format not in FORMATS:
        raise ConfigError(f"{where}.format: {src.format!r} is not one of {list(FORMATS)}")
    if src.time_format not in TIME_FORMATS and "%" not in src.time_format:
        raise ConfigError(
            f"{where}.time_format: {src.time_format!r} is not one of {list(TIME_FORMATS)} "
            "nor a strftime pattern such as '%Y-%m-%d %H:%M:%S'"
        )
    if src.time_format not in TIME_FORMATS:
        _check_strftime(src.time_format, f"{where}.time_format")
    if src.ordinal and src.timezone != "UTC":
        raise ConfigError(
            f"{where}.timezone: time_format ordinal holds steps, not times; remove `timezone`"
        )
    if "step" in src.extra_columns:
        raise ConfigError(
            f"{where}.extra_columns: 'step' is the events table's column for ordinal steps; "
            "it cannot be copied as an extra column"
        )
    try:
        zoneinfo.ZoneInfo(src.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{where}.timezone: {src.timezone!r} is not an IANA time zone "
            "(e.g. 'Asia/Seoul', 'UTC')"
        ) from exc
    src.template_fields  # noqa: B018  (validates the template early, with the source named)
    src.file_format  # noqa: B018


def ingest_config_from_dict(
    raw: Any,
    base: Path,
    where: str = "config",
    *,
    data_dir: Path | None = None,
    out_dir: Path | None = None,
) -> IngestConfig:
    """Build an :class:`IngestConfig` from parsed YAML.

    Args:
        raw: the parsed YAML.
        base: the config's folder: relative paths resolve against it unless overridden.
        where: the config's name in error messages.
        data_dir: the folder relative source paths resolve against, instead of the YAML's
            ``data_dir`` or ``base`` (data kept apart from the config, such as a shared folder).
        out_dir: the folder relative ``output`` / ``rejects`` / ``summary`` resolve against.

    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with `sources`, `output`, `rejects`")
    _check_keys(raw, IngestConfig, where)
    for key in ("sources", "output", "rejects"):
        if not raw.get(key):
            raise ConfigError(f"{where}: missing required key {key!r}")
    for key in ("output", "rejects", "summary"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise ConfigError(f"{where}.{key}: expected a file path string, got {raw[key]!r}")
    if not isinstance(raw["sources"], list):
        raise ConfigError(f"{where}.sources: expected a list of sources")
    if raw.get("data_dir") is not None and not isinstance(raw["data_dir"], str):
        raise ConfigError(
            f"{where}.data_dir: expected a folder path string, got {raw['data_dir']!r}"
        )
    if data_dir is None and raw.get("data_dir"):
        data_dir = (base / raw["data_dir"]).resolve()
    if data_dir is not None and not data_dir.is_dir():
        raise ConfigError(
            f"{where}: data folder {data_dir} not found (it holds the source files); "
            "fix `data_dir` or pass the folder that holds them"
        )
    src_base = data_dir if data_dir is not None else base
    out = out_dir if out_dir is not None else base
    sources = tuple(
        _source(s, src_base, f"{where}.sources[{i}]") for i, s in enumerate(raw["sources"])
    )
    if len({s.ordinal for s in sources}) > 1:
        raise ConfigError(
            f"{where}.sources: some sources are ordinal (steps) and some timed; steps and times "
            "cannot be ordered together, so use time_format ordinal for all sources or for none"
        )
    drop = raw.get("drop_duplicates", True)
    if not isinstance(drop, bool):
        raise ConfigError(f"{where}.drop_duplicates: expected true or false, got {drop!r}")
    summary = raw.get("summary")
    return IngestConfig(
        sources=sources,
        output=(out / raw["output"]).resolve(),
        rejects=(out / raw["rejects"]).resolve(),
        summary=(out / summary).resolve() if summary else None,
        drop_duplicates=drop,
        data_dir=data_dir,
    )


def load_ingest_config(
    path: str | Path, *, data_dir: str | Path | None = None, out_dir: str | Path | None = None
) -> IngestConfig:
    """Read and validate an ingestion YAML file.

    Relative paths resolve against the config's folder; source paths against the YAML's
    ``data_dir`` (itself relative to the config) or the ``data_dir`` passed here, outputs against
    ``out_dir`` when given. So one config can read data kept elsewhere and write where the caller
    wants.

    Raises:
        ConfigError: missing file, invalid YAML, unknown keys, bad values, a missing data folder.

    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    return ingest_config_from_dict(
        raw,
        path.parent.resolve(),
        where=path.name,
        data_dir=Path(data_dir).resolve() if data_dir is not None else None,
        out_dir=Path(out_dir).resolve() if out_dir is not None else None,
    )
