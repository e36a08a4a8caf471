"""``byod.tabular``: one reader for user tables, any encoding, errors with row and byte offset."""

from __future__ import annotations

import codecs
import gzip

import polars as pl
import pytest

from byod.errors import ByodError, InputFileError
from byod.tabular import check_encoding, decode_bytes, read_table, write_table

KOREAN = "text,label\n배송이 빨라서 좋아요,긍정\n포장이 엉망이에요,부정\n"
LATIN = "text,label\nCafé très agréable,pos\nÀ éviter, vraiment,neg\n".replace(
    "À éviter, vraiment", '"À éviter, vraiment"'
)


def _write(tmp_path, name: str, text: str, encoding: str) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_utf8_with_a_bom_reads_the_first_column_name_cleanly(tmp_path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + KOREAN.encode())
    df = read_table(path, text_columns=["text"])
    assert df.columns == ["text", "label"] and df["label"].to_list() == ["긍정", "부정"]


@pytest.mark.parametrize(("encoding", "given"), [("cp949", "cp949"), ("euc-kr", "euc_kr")])
def test_korean_cp949_file_reads_with_its_encoding(tmp_path, encoding, given) -> None:
    path = _write(tmp_path, "ko.csv", KOREAN, "cp949")
    df = read_table(path, encoding=given, text_columns=["text", "label"])
    assert df["text"].to_list() == ["배송이 빨라서 좋아요", "포장이 엉망이에요"]


def test_auto_says_which_encoding_it_used(tmp_path) -> None:
    notes: list[str] = []
    ko = read_table(_write(tmp_path, "ko.tsv", KOREAN.replace(",", "\t"), "cp949"),
                    encoding="auto", say=notes.append)  # fmt: skip
    fr = read_table(_write(tmp_path, "fr.csv", LATIN, "latin-1"), encoding="AUTO", say=notes.append)
    utf = read_table(_write(tmp_path, "u.jsonl", '{"text": "좋아요"}\n', "utf-8"), encoding="auto",
                     say=notes.append)  # fmt: skip
    assert ko["label"].to_list() == ["긍정", "부정"]
    assert fr["text"].to_list() == ["Café très agréable", "À éviter, vraiment"]
    assert utf["text"].to_list() == ["좋아요"]
    assert [n.rsplit(" read as ", 1)[1] for n in notes] == [
        "cp949 (--encoding auto)", "latin-1 (--encoding auto)", "utf-8 (--encoding auto)"
    ]  # fmt: skip


def test_auto_does_not_take_latin1_pairs_that_happen_to_be_valid_cp949(tmp_path) -> None:
    # 'Ä' (0xC4) followed by 'p' (0x70) is a valid CP949 Hangul syllable.
    text, used = decode_bytes("Äpfel, Ärger\n".encode("latin-1"), "auto", path="x.csv")
    assert (text, used) == ("Äpfel, Ärger\n", "latin-1")


def test_a_bad_byte_names_file_row_and_offset_and_suggests_encoding(tmp_path) -> None:
    path = _write(tmp_path, "fr.csv", LATIN, "latin-1")
    with pytest.raises(InputFileError) as err:
        read_table(path)
    message = str(err.value)
    offset = LATIN.encode("latin-1").index("é".encode("latin-1"))
    assert message.startswith(f"{path}: row 2 (counting the header), byte offset {offset}: ")
    assert "bytes e9" in message and "not valid utf-8" in message and "--encoding" in message
    assert "\n" not in message


def test_unknown_encoding_is_a_one_line_error() -> None:
    with pytest.raises(ByodError, match=r"--encoding 'klingon': unknown encoding"):
        check_encoding("klingon")
    assert check_encoding("EUC-KR") == "euc_kr" and check_encoding("auto") == "auto"


def test_gzip_parquet_and_round_trip(tmp_path) -> None:
    gz = tmp_path / "ko.csv.gz"
    gz.write_bytes(gzip.compress(KOREAN.encode("cp949")))
    df = read_table(gz, encoding="cp949")
    write_table(df, tmp_path / "ko.parquet")
    write_table(df, tmp_path / "ko.out.csv")
    assert read_table(tmp_path / "ko.parquet").equals(df)
    assert read_table(tmp_path / "ko.out.csv").equals(df)  # outputs are always UTF-8


def test_column_and_empty_value_errors_name_rows(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pl.DataFrame({"text": ["a", " ", None], "label": ["x", "y", "z"]}).write_csv(path)
    with pytest.raises(ByodError, match=r"\['txt'\] not found; columns are \['text', 'label'\]"):
        read_table(path, text_columns=["txt"])
    with pytest.raises(ByodError, match=r"2 empty or null value\(s\), e.g. rows \[3, 4\]"):
        read_table(path, text_columns=["text"])
    with pytest.raises(InputFileError, match="unsupported file type '.xlsx'"):
        read_table(tmp_path / "d.xlsx")
    with pytest.raises(InputFileError, match="file not found"):
        read_table(tmp_path / "missing.csv")
