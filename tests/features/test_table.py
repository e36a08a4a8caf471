import numpy as np
import polars as pl
import pytest

from byod.errors import ByodError
from byod.features.index import search
from byod.features.table import frame_hash, read_feature_table, write_feature_table


def _features(n: int = 20, dim: int = 6, seed: int = 0) -> pl.DataFrame:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return pl.DataFrame(
        {"user_id": [f"u{i}" for i in range(n)], "vector": v},
        schema={"user_id": pl.String, "vector": pl.Array(pl.Float32, dim)},
    )


def test_versions_metadata_and_index(tmp_path) -> None:
    t1 = write_feature_table(_features(), tmp_path, {"objective": "clue"})
    t2 = write_feature_table(_features(5, seed=1), tmp_path, {"objective": "clue"})
    assert (t1.path.name, t2.path.name) == ("v0001", "v0002")
    latest = read_feature_table(tmp_path)
    assert latest.metadata["rows"] == 5 and latest.metadata["dim"] == 6
    assert read_feature_table(tmp_path, "v0001").features.height == 20
    scores, rows = search(read_feature_table(tmp_path, "v0001").index(), t1.vectors[:3], 1)
    assert rows[:, 0].tolist() == [0, 1, 2]
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_duplicate_users_and_missing_table_are_errors(tmp_path) -> None:
    dup = pl.concat([_features(2), _features(2)])
    with pytest.raises(ByodError, match="duplicate"):
        write_feature_table(dup, tmp_path, {})
    with pytest.raises(ByodError, match="byod embed"):
        read_feature_table(tmp_path / "nope")


def test_frame_hash_is_content_and_order_sensitive() -> None:
    df = _features(4)
    assert frame_hash(df) == frame_hash(df.clone())
    assert frame_hash(df) != frame_hash(df.reverse())
    assert len(frame_hash(df)) == 16
