"""The real Amazon Arts + Office logs (order only) through the example config.

The data lives outside the repository, in ``../shared/data/amazon-arts-office`` beside the
checkout (never committed); without it the test skips and says where it looked.
"""

from pathlib import Path

import polars as pl
import pytest

from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.data.serialize import serialize
from byod.data.splits import leave_one_out

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "amazon-arts-office"
CONFIG = REPO / "examples" / "amazon" / "ingest.yaml"
N_USERS = 9_577
ROWS = {"arts": 110_877, "office": 97_664}  # from the data folder's README

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DATA / "arts.csv.gz").is_file(),
        reason=f"real Amazon arts/office data not found at {DATA} (../shared/data beside the repo)",
    ),
]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("amazon")
    return ingest(load_ingest_config(CONFIG, data_dir=DATA, out_dir=out))


def test_counts_add_up_and_both_services_hold_every_user(result, counts_add_up) -> None:
    summary = result.summary
    counts_add_up(summary)
    assert summary["read"] == sum(ROWS.values())
    assert {s["source"].split("/")[-1]: s["read"] for s in summary["sources"]} == {
        "arts.csv.gz": ROWS["arts"],
        "office.csv.gz": ROWS["office"],
    }
    assert summary["order"] == "ordinal" and summary["users"] == N_USERS
    assert {k: v["users"] for k, v in summary["services"].items()} == {
        "arts": N_USERS,
        "office": N_USERS,
    }
    split = pl.read_csv(DATA / "split.csv")
    assert set(split["reviewer_id"]) == set(result.events["user_id"])


def test_histories_follow_the_merged_steps(result) -> None:
    events = result.events
    merged = serialize(events.filter(pl.col("user_id") == events["user_id"][0]))
    steps = events.filter(pl.col("user_id") == events["user_id"][0]).sort("step", "seq")
    for row in merged.iter_rows(named=True):
        expected = steps.filter(pl.col("service") == row["service"])["text"].to_list()
        assert row["event_texts"] == expected[-row["n_events"] :]
    split = leave_one_out(events, service="office")
    office = events.filter(pl.col("service") == "office").group_by("user_id").len()
    assert split.test.height == office.filter(pl.col("len") >= 3).height > 0.99 * N_USERS
    assert set(split.test["service"]) == set(split.valid["service"]) == {"office"}
