"""Read and write any user table (CSV / TSV / Parquet / JSON Lines) with column checks.

The one home for the tables behind ``byod labels`` and ``byod text``: texts and labels exported
from a business's systems, which are often not UTF-8 (Korean exports are very often CP949 /
EUC-KR, older Western ones latin-1). Text formats are decoded here, in Python, with any codec
Python knows, so a bad byte is reported by file, row and byte offset instead of by the parser:

* ``encoding="utf-8"`` (the default) accepts a UTF-8 byte-order mark;
* ``encoding="auto"`` tries UTF-8, then CP949 (a superset of EUC-KR), then latin-1 (which never
  fails), and says which one it used; a CP949 reading is accepted only when its non-ASCII
  characters are mostly common Hangul, since many latin-1 byte pairs are also valid CP949;
* any other Python codec name (``euc-kr``, ``cp1252``, ``utf-16``, ...) is used as given.

Row numbers are 1-based and count the header, as :mod:`byod.data.readers` numbers them: for CSV /
TSV they are the line numbers an editor shows (while no quoted value spans lines). Parquet stores
its own types and encoding, so ``encoding`` does not apply to it.
"""

from __future__ import annotations

import codecs
import gzip
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from byod.atomic import write_csv, write_parquet
from byod.errors import ByodError, InputFileError

__all__ = [
    "AUTO_ENCODINGS",
    "check_encoding",
    "decode_bytes",
    "read_table",
    "require_columns",
    "require_text",
    "write_table",
]

AUTO_ENCODINGS = ("utf-8", "cp949", "latin-1")  # what ``auto`` tries, in this order
_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".jsonl": "jsonl"}
_HANGUL_SHARE = 0.9  # share of non-ASCII characters that must be Hangul for ``auto`` to pick CP949
Say = Callable[[str], None]


def check_encoding(encoding: str) -> str:
    """Validate an ``--encoding`` value: ``auto`` or a codec Python knows; return its name.

    Raises:
        ByodError: an unknown codec (one line, with the usual choices).
    """
    if encoding.strip().lower() == "auto":
        return "auto"
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ByodError(
            f"--encoding {encoding!r}: unknown encoding; use utf-8, cp949 (or euc-kr), latin-1, "
            "auto, or any Python codec name"
        ) from None


def decode_bytes(data: bytes, encoding: str, *, path: Path | str) -> tuple[str, str]:
    """Decode a whole file's bytes; return ``(text, codec used)``.

    Args:
        data: the file's content.
        encoding: a codec name or ``auto`` (see the module docstring).
        path: the file, for messages.

    Raises:
        InputFileError: the bytes are not valid in ``encoding``: names the row and byte offset
            of the first bad sequence and suggests ``--encoding``.
    """
    codec = check_encoding(encoding)
    if codec == "auto":
        return _decode_auto(data)
    if codec == "utf-8":
        codec = "utf-8-sig"  # a byte-order mark is not part of the first column's name
    try:
        return data.decode(codec), codec.removesuffix("-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(_decode_message(path, data, exc, codec.removesuffix("-sig"))) from None


def _decode_auto(data: bytes) -> tuple[str, str]:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp949")
    except UnicodeDecodeError:
        text = None
    if text is not None and _mostly_hangul(text):
        return text, "cp949"
    return data.decode("latin-1"), "latin-1"


def _mostly_hangul(text: str) -> bool:
    """Whether the non-ASCII characters of ``text`` are mostly common Hangul.

    Common: a syllable or jamo of KS X 1001 (the 2,350 syllables EUC-KR has, which real Korean
    text nearly always stays within). A latin-1 letter followed by an ASCII letter is often a
    valid CP949 *extension* syllable ("Äp" reads as "훡"), which this rules out.
    """
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return True
    common = sum(_common_hangul(c) for c in wide)
    return common >= _HANGUL_SHARE * len(wide)


def _common_hangul(char: str) -> bool:
    if not ("\uac00" <= char <= "\ud7a3" or "\u3131" <= char <= "\u318e"):
        return False
    try:  # Python's euc_kr writes syllables outside KS X 1001 as 8-byte jamo sequences
        return len(char.encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False


def _decode_message(path: Path | str, data: bytes, exc: UnicodeDecodeError, codec: str) -> str:
    row = data.count(b"\n", 0, exc.start) + 1
    bad = data[exc.start : min(exc.end, exc.start + 4)]
    return (
        f"{path}: row {row} (counting the header), byte offset {exc.start}: bytes {bad.hex(' ')} "
        f"are not valid {codec}; pass --encoding (e.g. cp949, latin-1, or auto to detect it)"
    )


def _table_format(path: Path) -> tuple[str, bool]:
    """``(format, gzipped)`` from the suffixes: ``x.csv``, ``x.tsv.gz``, ``x.parquet``, ..."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] in (".gz", ".gzip")
    suffix = suffixes[-2] if gz and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    if suffix not in _FORMATS or (gz and suffix == ".parquet"):
        raise InputFileError(
            f"{path}: unsupported file type {''.join(path.suffixes)!r}; use one of "
            f"{list(_FORMATS)} (CSV / TSV / JSONL may be gzipped: .csv.gz)"
        )
    return _FORMATS[suffix], gz


def read_table(
    path: Path | str,
    *,
    encoding: str = "utf-8",
    text_columns: Sequence[str] = (),
    say: Say | None = None,
) -> pl.DataFrame:
    """Read a user table by its suffix; check and clean its text columns.

    Args:
        path: ``.csv``, ``.tsv``, ``.jsonl`` (each maybe ``.gz``) or ``.parquet``.
        encoding: codec of a text format, or ``auto`` (see the module docstring).
        text_columns: columns that must exist; they are cast to strings and must hold no null or
            blank value.
        say: called with one line when ``auto`` picked an encoding (e.g. the CLI's printer).

    Returns:
        The table; CSV / TSV / JSONL values are strings, Parquet keeps its types.

    Raises:
        InputFileError: missing, unreadable or undecodable file (with row and byte offset).
        ByodError: a text column is missing or has empty values (rows named).
    """
    path = Path(path)
    fmt, gz = _table_format(path)
    if not path.is_file():
        raise InputFileError(f"{path}: file not found" if not path.exists() else
                             f"{path}: is a folder, expected a file")  # fmt: skip
    df = _read_parquet(path) if fmt == "parquet" else _read_text(path, fmt, gz, encoding, say)
    require_columns(df, path, *text_columns)
    df = df.with_columns(pl.col(c).cast(pl.String) for c in text_columns)
    header = 1 if fmt in ("csv", "tsv") else 0
    for column in text_columns:
        require_text(df[column], path, column, first_row=1 + header)
    return df


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path, glob=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"{path}: cannot read it as parquet: {_first_line(exc)}") from None


def _read_text(path: Path, fmt: str, gz: bool, encoding: str, say: Say | None) -> pl.DataFrame:
    try:
        data = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    except (OSError, EOFError) as exc:
        raise InputFileError(f"{path}: cannot be read: {_first_line(exc)}") from None
    text, used = decode_bytes(data, encoding, path=path)
    if say is not None and check_encoding(encoding) == "auto":
        say(f"{path}: read as {used} (--encoding auto)")
    # Polars parses UTF-8 only: the decoded text goes back to it as UTF-8 bytes.
    source = io.BytesIO(data if used == "utf-8" and not data.startswith(codecs.BOM_UTF8)
                        else text.encode("utf-8"))  # fmt: skip
    try:
        if fmt == "jsonl":
            return pl.read_ndjson(source)
        sep = "\t" if fmt == "tsv" else ","
        return pl.read_csv(source, separator=sep, infer_schema=False)
    except pl.exceptions.NoDataError:
        raise InputFileError(f"{path}: file is empty") from None
    except (pl.exceptions.PolarsError, OSError) as exc:  # e.g. an unquoted comma in a CSV row
        raise InputFileError(f"{path}: cannot read it as {fmt}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def require_columns(df: pl.DataFrame, path: Path | str, *columns: str) -> None:
    """Raise a one-line :class:`ByodError` naming the missing columns and those present."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ByodError(
            f"{path}: column(s) {missing} not found; columns are {df.columns} "
            "(choose them with --text-column / --label-column)"
        )


def require_text(values: pl.Series, path: Path | str, column: str, *, first_row: int = 1) -> None:
    """Raise when a text column has null or blank values, naming up to five rows.

    Args:
        values: the column.
        path: the file, for the message.
        column: the column's name, for the message.
        first_row: the row number of ``values[0]`` in the file (2 in a CSV with a header).
    """
    values = values.cast(pl.String)
    bad = values.is_null() | (values.str.strip_chars() == "")
    if bad.any():
        rows = (bad.arg_true() + first_row).head(5).to_list()
        where = " (counting the header)" if first_row > 1 else ""
        raise ByodError(
            f"{path}: column {column!r} has {int(bad.sum())} empty or null value(s), "
            f"e.g. rows {rows}{where}; fill or drop them first"
        )


def write_table(df: pl.DataFrame, path: Path | str) -> Path:
    """Write ``df`` by suffix (``.parquet``, else UTF-8 CSV), atomically; return the path."""
    path = Path(path)
    return (write_parquet if path.suffix.lower() == ".parquet" else write_csv)(df, path)
