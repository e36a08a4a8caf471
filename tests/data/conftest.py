from pathlib import Path

import pytest
import yaml


@pytest.fixture
def write_config(tmp_path: Path):
    """Write an ingest YAML next to the test files; sources get sensible defaults."""

    def write(*sources: dict, **top) -> Path:
        defaults = {"service": "shop", "user_column": "uid", "time_column": "ts",
                    "time_format": "iso8601", "text": "{title}"}  # fmt: skip
        srcs = []
        for s in sources:
            merged = {**defaults, **s}
            if "service_column" in s and "service" not in s:
                merged.pop("service")
            srcs.append({k: v for k, v in merged.items() if v is not None})
        cfg = {"sources": srcs, "output": "out/events.parquet", "rejects": "out/rejects.csv", **top}
        path = tmp_path / "ingest.yaml"
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
        return path

    return write


# --- helpers shared by the data-layer suite --------------------------------------------------

REJECT_COLUMNS = ["source", "row", "reason", "column", "detail", "raw"]


def assert_counts_add_up(summary: dict) -> None:
    """``read == accepted + rejected + duplicates``, overall and for every source."""
    assert summary["read"] == summary["accepted"] + summary["rejected"] + summary["duplicates"]
    for s in summary["sources"]:
        assert s["read"] == s["accepted"] + s["rejected"] + s["duplicates"], s
    assert sum(s["read"] for s in summary["sources"]) == summary["read"]
    assert sum(s["accepted"] for s in summary["sources"]) == summary["accepted"]
    assert sum(s["rejected"] for s in summary["sources"]) == summary["rejected"]
    assert sum(s["duplicates"] for s in summary["sources"]) == summary["duplicates"]


@pytest.fixture
def counts_add_up():
    """The summary check of :func:`assert_counts_add_up`, for tests that call ingest directly."""
    return assert_counts_add_up


@pytest.fixture
def run_ingest():
    """Load a config, ingest it, check the counts; return (result, rejects CSV as a frame)."""
    import polars as pl

    from byod.data.config import load_ingest_config
    from byod.data.ingest import ingest

    def run(cfg_path: Path):
        cfg = load_ingest_config(cfg_path)
        result = ingest(cfg)
        assert_counts_add_up(result.summary)
        rejects = pl.read_csv(
            cfg.rejects,
            schema={"source": pl.String, "row": pl.Int64, "reason": pl.String,
                    "column": pl.String, "detail": pl.String, "raw": pl.String},
        )  # fmt: skip
        with open(cfg.rejects, encoding="utf-8") as fh:
            assert fh.readline().strip() == ",".join(REJECT_COLUMNS)
        assert rejects.height == result.summary["rejected"] + result.summary["duplicates"]
        return result, rejects

    return run


@pytest.fixture
def make_event_table():
    """Build an events table from (user, timestamp, service, text, seq) tuples."""
    import polars as pl

    from byod.data.schema import EVENT_SCHEMA

    def make(rows) -> "pl.DataFrame":
        return pl.DataFrame(
            [{"user_id": u, "timestamp": t, "service": s, "text": x, "item_id": None, "seq": q}
             for u, t, s, x, q in rows],
            schema=EVENT_SCHEMA,
        )  # fmt: skip

    return make
