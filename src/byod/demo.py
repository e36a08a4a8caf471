"""The whole chain on built-in MovieLens data, as ``make demo`` runs it.

built-in data → raw logs (a TSV, ``ingest.yaml``, the users' labels and the item table beside
it) → ``byod data ingest`` → :func:`byod.pipeline.run_pipeline` on the ingested tables: pretrain
the ``next-item`` encoder (hashed item ids; on events before every user's validation target) →
feature tables (next-item, zero-shot, each with the svd and aggregates blocks) → gender / age /
occupation heads, and next-item recommendation by the model itself and by heads, against
baselines → the report.

Why ``next-item`` and not ``clue``: on ML-1M its own scores beat every baseline and its pooled
features beat clue's on all three attributes (docs/benchmarks.md, "Next-item objective" and
"make demo"); the attributes' best figures come from the blocks beside it.

The ingested events keep the ratings file's order in ``seq``, so same-second ratings are ordered
as MovieLens wrote them, in the split and in every step after it.
"""

from __future__ import annotations

import dataclasses

from byod.atomic import write_parquet
from byod.data.builtin.export import export_logs
from byod.data.builtin.movielens import load_movielens
from byod.data.config import load_ingest_config
from byod.data.ingest import IngestResult, ingest
from byod.errors import ConfigError
from byod.pipeline import EncoderSpec, PipelineConfig, RunLayout

__all__ = ["PROFILES", "DemoProfile", "profile", "prepare_demo"]

# MovieLens event texts end in "| rated 4/5": the same words in every cluster, so the report's
# cluster words leave them out.
RATING_PATTERN = r"\s*\|\s*rated\s+[0-9.]+\s*/\s*[0-9]+"


@dataclasses.dataclass(frozen=True)
class DemoProfile:
    """A demo run: which MovieLens and what the pipeline does with it.

    Attributes:
        dataset: ``ml-1m`` or ``ml-100k``.
        pipeline: the pipeline's config (its inputs default to the run's ``ingested/``).
    """

    dataset: str
    pipeline: PipelineConfig


_DEMO = PipelineConfig(
    tasks=("gender", "age", "occupation"),
    encoders=(
        EncoderSpec(
            "next-item",
            "next-item",
            classify_heads=("logistic", "mlp"),
            # 64 wide, as SASRec's ML-1M setting (50): twice the epochs of 128 in the same
            # minutes, and better next-item figures at the 10-minute cap (docs/benchmarks.md)
            pretrain={"item_ids": "hashed", "encoder": {"dim": 64}},
        ),  # fmt: skip
        EncoderSpec("zero-shot", "zero-shot"),
    ),
    # Early stopping or the clock, whichever comes first: the demo stays inside its budget on a
    # slower machine. Batches of 128 users, as the ML-1M next-item benchmark measured.
    epochs=30,
    train={"batch_size": 128, "max_minutes": 8.0},
    primary="next-item",
    colour_by="age",
    strip_pattern=RATING_PATTERN,
)
PROFILES = {
    "full": DemoProfile("ml-1m", _DEMO),
    "quick": DemoProfile("ml-100k", dataclasses.replace(_DEMO, epochs=2, seeds=2)),
}


def profile(name: str, *, epochs: int | None = None) -> DemoProfile:
    """The named profile (``full`` or ``quick``), with ``epochs`` replaced when given.

    Raises:
        ConfigError: an unknown profile name.
    """
    if name not in PROFILES:
        raise ConfigError(f"--profile must be one of {list(PROFILES)}, got {name!r}")
    chosen = PROFILES[name]
    if epochs is not None:
        chosen = dataclasses.replace(
            chosen, pipeline=dataclasses.replace(chosen.pipeline, epochs=epochs)
        )
    return chosen


def prepare_demo(dataset: str, layout: RunLayout) -> IngestResult:
    """Export MovieLens as raw logs into ``layout.raw`` and ingest them into ``layout.ingested``.

    Beside the log go what a business keeps in other tables: the users' labels (gender, age,
    occupation) and the item table (``item_id, item_text``: the movie without a rating); both
    are copied into ``ingested/`` for the pipeline.

    Returns:
        The ingestion result (events, rejects, summary).
    """
    data = load_movielens(dataset)
    export_logs(data, layout.raw)
    items = data.items.select("item_id", "item_text")
    write_parquet(items, layout.raw / "items.parquet")
    result = ingest(load_ingest_config(layout.raw / "ingest.yaml", out_dir=layout.ingested))
    write_parquet(data.labels, layout.labels)
    write_parquet(items, layout.items)
    return result
