"""The pipeline and its report on a run with no demographic labels: 300 users of the real
Amazon Arts + Office logs (two services, order only).

The data lives outside the repository, in ``../shared/data/amazon-arts-office`` beside the
checkout (never committed); without it the test skips and says where it looked. A hashing
backbone stands in for the packaged text encoder: the test is about the chain and the report
reading what the run holds, not about the quality of the vectors.
"""

from pathlib import Path

import polars as pl
import pytest

from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.encoders.hashing import HashingBackbone
from byod.pipeline import EncoderSpec, PipelineConfig, RunLayout, run_pipeline

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "amazon-arts-office"
CONFIG = REPO / "examples" / "amazon" / "ingest.yaml"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DATA / "arts.csv.gz").is_file(),
        reason=f"real Amazon arts/office data not found at {DATA} (../shared/data beside the repo)",
    ),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    layout = RunLayout(tmp_path_factory.mktemp("amazon-run"))
    ingest(load_ingest_config(CONFIG, data_dir=DATA, out_dir=layout.ingested))
    config = PipelineConfig(
        events=layout.ingested / "out" / "events.parquet",
        sample_users=300,
        encoders=(EncoderSpec("clue", "clue"), EncoderSpec("zero-shot", "zero-shot")),
        epochs=1,
        train={"batch_size": 32},
        blocks=("learned", "svd", "aggregates"),
        svd_dim=16,
        recommend_heads=("dot",),
        recommend={"epochs": 1},
        n_jobs=1,
    )
    lines: list[str] = []
    result = run_pipeline(config, layout, say=lines.append, backbone=HashingBackbone(dim=64))
    return layout, result, lines


def test_the_chain_runs_without_labels(run) -> None:
    layout, result, lines = run
    assert result.classify is None and not layout.classify.exists()
    assert "4. classification: skipped (no labels)" in lines
    users = pl.read_parquet(layout.histories)["user_id"].n_unique()
    assert users == 300
    rec = pl.read_parquet(layout.recommend)
    assert {"popularity", "clue-dot", "zero-shot-dot"} <= set(rec["source"])
    assert set(rec["protocol"]) == {"sampled-100", "full"}


def test_the_report_renders_from_what_the_run_holds(run) -> None:
    layout, result, _ = run
    page = result.report.read_text(encoding="utf-8")
    assert "features/clue" in page  # the run's primary source
    assert "the run has no labels to colour by" in page
    assert "distinctive words (c-TF-IDF)" in page
    for movielens in ("women", "gender", "age group", "occupation", "| rated"):
        assert movielens not in page
    assert "ranked among 100 sampled negatives" in page
    md = (layout.report / "report.md").read_text(encoding="utf-8")
    assert "labels.parquet: not found" in md and "## Map of user embeddings" in md
