"""Bring data: preview a log file, map its columns onto the event contract, validate, save YAML.

The mapping is the YAML ``byod data ingest`` reads (:func:`byod.data.config.load_ingest_config`),
and validation runs that very ingest, so the page and the command line never disagree.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from byod.atomic import write_text
from byod.data.config import SourceConfig, load_ingest_config, template_fields
from byod.data.ingest import IngestResult, ingest
from byod.data.readers import ROW, read_source
from byod.data.template import normalize_whitespace, render
from byod.errors import ByodError, ConfigError

__all__ = [
    "preview",
    "source_from_form",
    "template_preview",
    "write_mapping",
    "validate",
    "TIME_CHOICES",
    "UPLOAD_SUFFIXES",
]

TIME_CHOICES = ("iso8601", "epoch_s", "epoch_ms", "ordinal", "%Y-%m-%d %H:%M:%S")
UPLOAD_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet", ".gz")


@functools.lru_cache(maxsize=4)
def _raw(path: str, mtime: float) -> tuple[pl.DataFrame, int]:
    """The parsed rows of a file (cached while it is unchanged) and how many were read."""
    src = SourceConfig(path=Path(path), user_column="-", time_column="-", text="{-}")
    raw = read_source(src)
    return raw.frame.drop(ROW, strict=False), raw.n_read


def _frame(path: Path) -> tuple[pl.DataFrame, int]:
    path = Path(path)
    if not path.is_file():
        raise ByodError(f"{path}: file not found; give a CSV, TSV, JSONL or Parquet log file")
    return _raw(str(path.resolve()), path.stat().st_mtime)


def preview(path: Path, n: int = 8) -> dict[str, Any]:
    """The file's columns, its first ``n`` rows (as strings) and its row count."""
    frame, n_read = _frame(path)
    head = frame.head(n).with_columns(pl.all().cast(pl.String))
    return {"path": str(path), "columns": frame.columns, "rows": head.rows(), "n_read": n_read}


def template_preview(path: Path, template: str, n: int = 3) -> list[str]:
    """The event texts ``template`` writes for the first ``n`` rows (a ConfigError if bad)."""
    frame, _ = _frame(path)
    fields = template_fields(template)
    missing = [f for f in fields if f not in frame.columns]
    if missing:
        raise ConfigError(f"text template uses {missing}, not columns of the file {frame.columns}")
    return normalize_whitespace(frame.head(n).select(render(template))[:, 0]).to_list()


def source_from_form(form: dict[str, str]) -> dict[str, Any]:
    """A ``sources:`` entry (YAML form) from the mapping form's fields."""
    need = {"path": "the file", "user_column": "user", "time_column": "time", "text": "text"}
    for key, what in need.items():
        if not form.get(key, "").strip():
            raise ConfigError(f"choose the {what} column / template ({key}) before validating")
    src: dict[str, Any] = {k: form[k].strip() for k in need}
    fmt = form.get("time_format_custom", "").strip() or form.get("time_format", "iso8601")
    src["time_format"] = fmt
    if fmt != "ordinal" and form.get("timezone", "").strip() not in ("", "UTC"):
        src["timezone"] = form["timezone"].strip()
    if form.get("service_column"):
        src["service_column"] = form["service_column"]
    else:
        src["service"] = form.get("service", "").strip() or Path(src["path"]).name.split(".")[0]
    if form.get("item_column"):
        src["item_column"] = form["item_column"]
    return src


def write_mapping(sources: list[dict[str, Any]], folder: Path) -> Path:
    """Write ``folder/ingest.yaml`` (outputs beside it) and return its path."""
    if not sources:
        raise ConfigError("no source mapped yet: pick a file and map its columns")
    doc = {"sources": sources, "output": "events.parquet", "rejects": "rejects.csv"}
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    return write_text(text, folder / "ingest.yaml")


def validate(sources: list[dict[str, Any]], folder: Path) -> tuple[Path, IngestResult]:
    """Save the mapping and run ``byod data ingest`` on it: events, rejects and summary."""
    path = write_mapping(sources, folder)
    return path, ingest(load_ingest_config(path))
