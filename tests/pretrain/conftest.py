from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from byod.data.schema import EVENT_SCHEMA
from byod.data.serialize import SerializeConfig, serialize
from byod.encoders.hashing import HashingBackbone

WORDS = ["action", "drama", "comedy", "horror", "space", "love", "war", "kids", "music", "crime"]


def make_events(n_users: int = 40, seed: int = 0) -> pl.DataFrame:
    """Users with a taste (a few favourite words) spread over three services, many time ties."""
    rng = np.random.default_rng(seed)
    rows = []
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    seq = 0
    for u in range(n_users):
        taste = rng.choice(WORDS, 3, replace=False)
        for _ in range(rng.integers(6, 20)):
            seq += 1
            words = " ".join(rng.choice(taste, 2))
            rows.append(
                {
                    "user_id": f"u{u}",
                    "timestamp": t0 + timedelta(hours=int(rng.integers(0, 500))),
                    "service": str(rng.choice(["shop", "search", "news"])),
                    "text": f"{words} item {rng.integers(0, 30)}",
                    "item_id": None,
                    "seq": seq,
                }
            )
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)


@pytest.fixture(scope="session")
def events() -> pl.DataFrame:
    return make_events()


@pytest.fixture(scope="session")
def histories(events: pl.DataFrame) -> pl.DataFrame:
    return serialize(events, SerializeConfig(max_events=32))


@pytest.fixture(scope="session")
def backbone() -> HashingBackbone:
    return HashingBackbone(dim=32)
