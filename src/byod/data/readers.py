"""Read log files of any supported format into a table of raw values plus row-level rejects.

Each reader returns a :class:`RawTable`: the rows that could be parsed (with their row number in the
file) and the rows that could not (ragged CSV rows, undecodable bytes, invalid JSON lines), each
with a reason. Problems with the whole file (missing, empty, not the format it claims) raise
:class:`~byod.errors.InputFileError`.

Row numbers are 1-based and count the header, so for CSV / TSV they are the line numbers an editor
shows (as long as no quoted value spans lines); for JSON Lines they are line numbers; for Parquet
they are 1-based row positions.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import gzip
import io
import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from byod.data.config import SourceConfig
from byod.errors import InputFileError

__all__ = ["RawTable", "read_source", "REJECT_SCHEMA", "ROW"]

ROW = "__row"  # the column holding each row's number in its file
REJECT_SCHEMA = {
    "source": pl.String(),
    "row": pl.Int64(),
    "reason": pl.String(),
    "column": pl.String(),
    "detail": pl.String(),
    "raw": pl.String(),
}


@dataclasses.dataclass
class RawTable:
    """Parsed rows and rejected rows of one file.

    Attributes:
        frame: one row per parsed record; the file's columns plus ``__row`` (Int64).
            CSV / TSV / JSONL values are strings; Parquet keeps its types.
        rejects: rows that could not be parsed, with ``REJECT_SCHEMA`` columns.
        columns: the file's column names, in file order.

    """

    frame: pl.DataFrame
    rejects: pl.DataFrame
    columns: list[str]

    @property
    def n_read(self) -> int:
        """Records read from the file: parsed + rejected."""
        return self.frame.height + self.rejects.height


def empty_rejects() -> pl.DataFrame:
    """An empty rejects table with the right schema."""
    return pl.DataFrame(schema=REJECT_SCHEMA)


def make_rejects(source: str, rows: list[dict]) -> pl.DataFrame:
    """Build a rejects table from dicts with keys row, reason, column, detail, raw."""
    if not rows:
        return empty_rejects()
    return pl.DataFrame(
        [{"source": source, "column": None, **r} for r in rows], schema=REJECT_SCHEMA
    )


def read_source(src: SourceConfig) -> RawTable:
    """Read the file of ``src`` according to its format."""
    path = src.path
    if not path.exists():
        raise InputFileError(f"{path}: file not found (check `path` in the config)")
    if path.is_dir():
        raise InputFileError(f"{path}: is a directory, expected a file")
    if path.stat().st_size == 0:
        raise InputFileError(f"{path}: file is empty")
    fmt = src.file_format
    if fmt == "parquet":
        return _read_parquet(path)
    if fmt == "jsonl":
        return _read_jsonl(path, src.encoding)
    delimiter = src.delimiter or ("\t" if fmt == "tsv" else ",")
    return _read_delimited(path, delimiter, src.encoding)


def _open_text_head(path: Path, encoding: str) -> str:
    """The first line of a (maybe gzipped) text file, decoded."""
    opener = gzip.open if path.suffix.lower() in (".gz", ".gzip") else open
    try:
        with opener(path, "rb") as fh:
            head = fh.readline(1 << 20)
    except (OSError, EOFError) as exc:
        raise InputFileError(f"{path}: cannot be read ({exc})") from exc
    try:
        return head.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{path}: row 1 (header): bytes are not valid {encoding}; set `encoding` in the config"
        ) from exc
    except LookupError as exc:
        raise InputFileError(f"{path}: unknown encoding {encoding!r}") from exc


def _header(path: Path, delimiter: str, encoding: str) -> list[str]:
    line = _open_text_head(path, encoding)
    if not line.strip():
        raise InputFileError(f"{path}: file is empty (no header row)")
    names = next(csv.reader([line], delimiter=delimiter))
    names = [n.strip() for n in names]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputFileError(f"{path}: row 1 (header) repeats column name(s) {dupes}")
    if any(not n for n in names):
        raise InputFileError(f"{path}: row 1 (header) has an empty column name: {names}")
    return names


def _read_delimited(path: Path, delimiter: str, encoding: str) -> RawTable:
    names = _header(path, delimiter, encoding)
    # Fast path: strings, threads. A bad byte or an unnumbered bad row triggers a careful re-read
    # (raw bytes, one thread), so clean files pay nothing for the checks.
    try:
        table, invalid = _arrow_csv(path, names, delimiter, encoding, pa.string(), threads=True)
    except _Utf8Error:
        table, invalid = None, [None]
    if table is None or any(row is None or row.number is None for row in invalid):
        table, invalid = _careful_read(path, names, delimiter, encoding)
    n_total = table.num_rows + len(invalid)
    bad_numbers = np.array(sorted(r.number for r in invalid), dtype=np.int64)
    rows = np.setdiff1d(np.arange(2, n_total + 2, dtype=np.int64), bad_numbers, assume_unique=True)
    source = str(path)
    ragged = [
        {
            "row": r.number,
            "reason": "ragged_row",
            "detail": f"expected {r.expected_columns} fields, found {r.actual_columns}",
            "raw": r.text,
        }
        for r in invalid
    ]
    frame, undecodable = _decode_columns(table, rows, source)
    rejects = pl.concat([make_rejects(source, ragged), undecodable])
    return RawTable(frame=frame, rejects=rejects, columns=names)


class _Utf8Error(Exception):
    """The fast string read met invalid UTF-8 (in a value, or in a ragged row's text)."""


@dataclasses.dataclass(frozen=True)
class _BadRow:
    """A ragged row as the careful read reports it (``text`` decoded, bad bytes escaped)."""

    number: int | None
    expected_columns: int
    actual_columns: int
    text: str


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"


def _careful_read(
    path: Path, names: list[str], delimiter: str, encoding: str
) -> tuple[pa.Table, list]:
    """One thread, raw bytes per value; invalid UTF-8 anywhere becomes row-level rejects.

    pyarrow decodes a ragged row's text as UTF-8 before calling the invalid-row handler, so a
    ragged row holding a bad byte would fail the whole file. For UTF-8 input the file is therefore
    read as latin-1 (every byte is a character, so nothing can fail) and each value's bytes are
    restored afterwards; the delimiter, quotes and newlines are ASCII, so the split is the same.
    """
    if not _is_utf8(encoding):
        return _arrow_csv(path, names, delimiter, encoding, pa.binary(), threads=False)
    table, invalid = _arrow_csv(path, names, delimiter, "latin-1", pa.binary(), threads=False)
    restored = pa.table({n: _latin1_to_bytes(table[n].combine_chunks()) for n in names})
    rows = [
        _BadRow(
            r.number,
            r.expected_columns,
            r.actual_columns,
            r.text.encode("latin-1").decode("utf-8", "backslashreplace"),
        )
        for r in invalid
    ]
    return restored, rows


def _latin1_to_bytes(col: pa.Array) -> pa.Array:
    """Undo the latin-1 read: values hold the UTF-8 encoding of each original byte."""
    one_byte_chars = pc.equal(pc.binary_length(col), pc.utf8_length(col.cast(pa.string())))
    if pc.all(one_byte_chars).as_py() is not False:
        return col  # ASCII only (or empty): the bytes are the original bytes
    return pa.array(
        [None if v is None else v.decode("utf-8").encode("latin-1") for v in col.to_pylist()],
        pa.binary(),
    )


def _arrow_csv(
    path: Path,
    names: list[str],
    delimiter: str,
    encoding: str,
    value_type: pa.DataType,
    *,
    threads: bool,
) -> tuple[pa.Table, list]:
    invalid: list = []

    def on_invalid(row: pa_csv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    # pyarrow only detects a lower-case '.gz'; '.gzip' and '.GZ' are opened explicitly.
    gz = path.suffix.lower() in (".gz", ".gzip")
    try:
        with pa.input_stream(str(path), compression="gzip" if gz else None) as source:
            table = pa_csv.read_csv(
                source,
                read_options=pa_csv.ReadOptions(
                    use_threads=threads,
                    encoding="utf8" if _is_utf8(encoding) else encoding,
                    block_size=1 << 24,
                    # The header as `_header` read it: a latin-1 read cannot garble the names.
                    column_names=names,
                    skip_rows=1,
                ),
                parse_options=pa_csv.ParseOptions(
                    delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types={n: value_type for n in names}, strings_can_be_null=False
                ),
            )
    except pa.ArrowInvalid as exc:
        # A parse error despite the skipping handler means pyarrow could not decode a ragged
        # row's text for it: bad bytes, which the careful read handles.
        if value_type == pa.string() and (
            "UTF8" in str(exc).upper() or str(exc).startswith("CSV parse error")
        ):
            raise _Utf8Error from exc
        raise InputFileError(f"{path}: cannot be parsed as delimited text ({exc})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot be parsed as delimited text ({exc})") from exc
    return table, invalid


def _decode_columns(
    table: pa.Table, rows: np.ndarray, source: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Decode binary columns as UTF-8; rows with invalid bytes become rejects."""
    columns: dict[str, pa.Array] = {}
    bad_rows: dict[int, str] = {}  # index -> first bad column
    for name in table.column_names:
        col = table[name].combine_chunks()
        if col.type == pa.string():
            columns[name] = col
            continue
        try:
            columns[name] = col.cast(pa.string())
        except pa.ArrowInvalid:
            values = col.to_pylist()
            for i, v in enumerate(values):
                try:
                    v.decode("utf-8")
                except UnicodeDecodeError:
                    bad_rows.setdefault(i, name)
                    values[i] = None
            columns[name] = pa.array(
                [v.decode("utf-8") if v is not None else None for v in values], pa.string()
            )
    frame = pl.from_arrow(pa.table(columns)) if columns else pl.DataFrame()
    frame = frame.with_columns(pl.Series(ROW, rows, dtype=pl.Int64))
    if not bad_rows:
        return frame, empty_rejects()
    idx = sorted(bad_rows)
    raw_bytes = table.take(pa.array(idx)).to_pylist()
    rejects = [
        {
            "row": int(rows[i]),
            "reason": "undecodable_bytes",
            "column": bad_rows[i],
            "detail": f"column {bad_rows[i]!r} is not valid UTF-8; set `encoding` in the config",
            "raw": json.dumps(
                {k: v.decode("utf-8", "backslashreplace") for k, v in rec.items()},
                ensure_ascii=False,
                separators=(",", ":"),
            ),
        }
        for i, rec in zip(idx, raw_bytes, strict=True)
    ]
    keep = np.ones(frame.height, dtype=bool)
    keep[idx] = False
    return frame.filter(pl.Series(keep)), make_rejects(source, rejects)


def _scalar_to_str(value: object) -> str | None:
    """JSON scalars as the text a template shows; nested values as compact JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _read_jsonl(path: Path, encoding: str) -> RawTable:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as exc:
        raise InputFileError(f"{path}: unknown encoding {encoding!r}; use e.g. utf-8") from exc
    opener = gzip.open if path.suffix.lower() in (".gz", ".gzip") else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise InputFileError(f"{path}: cannot be read ({exc})") from exc
    if codec in ("utf-8", "utf-8-sig") and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]  # a byte-order mark is not part of the first record
    records: list[dict] = []
    numbers: list[int] = []
    rejects: list[dict] = []
    for number, line in enumerate(io.BytesIO(data), start=1):
        if not line.strip():
            continue  # blank lines are not records
        try:
            text = line.decode(encoding)
        except UnicodeDecodeError as exc:
            rejects.append(
                _jsonl_reject(number, "undecodable_bytes", f"byte {exc.start}: {exc.reason}", line)
            )
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            rejects.append(_jsonl_reject(number, "bad_json", exc.msg + f" at char {exc.pos}", line))
            continue
        if not isinstance(obj, dict):
            rejects.append(
                _jsonl_reject(
                    number, "bad_json", f"expected an object, got {type(obj).__name__}", line
                )
            )
            continue
        records.append({k: _scalar_to_str(v) for k, v in obj.items()})
        numbers.append(number)
    if not records and not rejects:
        raise InputFileError(f"{path}: file is empty (no JSON lines)")
    names = list(dict.fromkeys(k for r in records for k in r))
    frame = pl.DataFrame(
        {n: [r.get(n) for r in records] for n in names}, schema={n: pl.String for n in names}
    ).with_columns(pl.Series(ROW, numbers, dtype=pl.Int64))
    return RawTable(frame=frame, rejects=make_rejects(str(path), rejects), columns=names)


def _jsonl_reject(number: int, reason: str, detail: str, line: bytes) -> dict:
    raw = line.decode("utf-8", "backslashreplace").rstrip("\r\n")
    return {"row": number, "reason": reason, "detail": detail, "raw": raw}


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pl.read_parquet(path, glob=False)
    except Exception as exc:  # polars raises several error types for a corrupt file
        raise InputFileError(f"{path}: cannot be read as Parquet ({exc})") from exc
    names = frame.columns
    frame = frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW))
    return RawTable(frame=frame, rejects=empty_rejects(), columns=names)
