import polars as pl
import pytest
from typer.testing import CliRunner

from byod.cli.main import app
from byod.data.builtin import load_movielens
from byod.data.builtin.export import export_logs
from byod.data.builtin.movielens import _service_of
from byod.data.config import load_ingest_config
from byod.data.ingest import ingest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ml100k():
    return load_movielens("ml-100k")


def test_ml100k_shapes_labels_and_services(ml100k) -> None:
    assert ml100k.events.height == 100_000
    assert ml100k.events["user_id"].n_unique() == 943
    counts = ml100k.labels.group_by("task").agg(pl.col("user_id").n_unique()).sort("task")
    assert counts.rows() == [("age", 943), ("gender", 943), ("occupation", 943)]
    per_user = ml100k.events.group_by("user_id").agg(pl.col("service").n_unique())["service"]
    assert (per_user >= 2).mean() > 0.9
    assert set(ml100k.events["service"]) == {"thrill", "action", "family", "drama"}
    assert not ml100k.interactions["item_text"].str.contains("rated").any()  # no answer leak


def test_genre_group_rule() -> None:
    assert _service_of(["Comedy", "Romance", "Drama"]) == "drama"  # 2 drama genres beat 1 family
    assert _service_of(["Comedy", "Fantasy"]) == "action"  # tie: the group listed first wins


def test_logs_export_ingests_back_to_the_same_events(tmp_path, ml100k) -> None:
    export_logs(ml100k, tmp_path)
    result = ingest(load_ingest_config(tmp_path / "ingest.yaml"))
    cols = ["user_id", "timestamp", "service", "text", "item_id"]
    assert result.summary["rejected"] == 0
    assert (
        result.events.select(cols)
        .sort("user_id", "timestamp", "text")
        .equals(ml100k.events.select(cols).sort("user_id", "timestamp", "text"))
    )


def test_ml1m_loads() -> None:
    ml = load_movielens("ml-1m")
    assert ml.events.height == 1_000_209 and ml.events["user_id"].n_unique() == 6040
    assert ml.events["user_id"][0] == "1"  # the package's "1m_" prefix is stripped


def test_cli_builtin_writes_tables(tmp_path) -> None:
    result = CliRunner().invoke(app, ["data", "builtin", "ml-100k", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("events", "labels", "interactions", "items"):
        assert (tmp_path / f"{name}.parquet").exists()
    bad = CliRunner().invoke(app, ["data", "builtin", "ml-42m", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "unknown built-in dataset" in bad.output
