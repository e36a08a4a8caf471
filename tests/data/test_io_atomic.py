"""Atomic writes: a failure never leaves a half-written file or a temporary file behind."""

import json

import polars as pl
import pytest

from byod.atomic import atomic_path, write_csv, write_json, write_parquet, write_text
from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.errors import InputFileError


def test_failure_keeps_the_previous_file_and_no_temp(tmp_path) -> None:
    target = write_json({"v": 1}, tmp_path / "x.json")
    with pytest.raises(RuntimeError, match="crash"), atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_interrupt_also_cleans_up(tmp_path) -> None:
    target = tmp_path / "x.txt"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []  # no target created, no temp left


def test_failed_parquet_write_keeps_the_old_table(tmp_path, monkeypatch) -> None:
    target = write_parquet(pl.DataFrame({"a": [1, 2]}), tmp_path / "t.parquet")

    def boom(self, path, **kw):
        with open(path, "wb") as fh:
            fh.write(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", boom)
    with pytest.raises(OSError, match="disk full"):
        write_parquet(pl.DataFrame({"a": [9]}), target)
    monkeypatch.undo()
    assert pl.read_parquet(target)["a"].to_list() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_success_replaces_and_creates_parents(tmp_path) -> None:
    target = tmp_path / "a" / "b" / "out.txt"
    assert write_text("one", target) == target
    write_text("두 번째", target)
    assert target.read_text(encoding="utf-8") == "두 번째"
    write_csv(pl.DataFrame({"x": ["a,b"]}), tmp_path / "c.csv")
    assert pl.read_csv(tmp_path / "c.csv")["x"].to_list() == ["a,b"]
    write_json({"k": "값"}, tmp_path / "j.json")
    assert "값" in (tmp_path / "j.json").read_text(encoding="utf-8")  # not \\u-escaped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "c.csv", "j.json"]


def test_failed_ingest_leaves_previous_outputs_intact(tmp_path, write_config, run_ingest) -> None:
    (tmp_path / "a.csv").write_text("uid,ts,title\nu1,2024-01-01,a\n")
    cfg = write_config({"path": "a.csv"})
    run_ingest(cfg)
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    (tmp_path / "a.csv").write_text("uid,ts,title\nu2,2024-01-01,b\n")
    write_config({"path": "a.csv"}, {"path": "missing.csv"})
    with pytest.raises(InputFileError):
        ingest(load_ingest_config(cfg))
    after = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert after == before and set(before) == {
        "events.parquet",
        "rejects.csv",
        "events.summary.json",
    }
