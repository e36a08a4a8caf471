from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from byod.errors import ByodError, ConfigError
from byod.features.blocks import (
    BlockLayout,
    aggregate_block,
    compute_blocks,
    parse_blocks,
    svd_block,
    text_mean_block,
)
from byod.features.table import read_feature_table, write_feature_table

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _events(rows: list[tuple[str, int, str, str]]) -> pl.DataFrame:
    """(user, day, service, item) rows -> an events table (text = the item's name)."""
    return pl.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "timestamp": [T0 + timedelta(days=r[1]) for r in rows],
            "service": [r[2] for r in rows],
            "text": [f"movie {r[3]}" for r in rows],
            "item_id": [r[3] for r in rows],
            "seq": list(range(len(rows))),
        }
    )


class FakeBackbone:
    """Deterministic text vectors: a hash of the text seeds a normal vector."""

    name, fingerprint, dim = "fake", "fake0", 8

    def encode(self, texts, batch_size=64, progress=False):
        rng = [np.random.default_rng(sum(map(ord, t))) for t in texts]
        return np.stack([r.normal(size=self.dim) for r in rng]).astype(np.float32)


def test_aggregates_by_hand():
    ev = _events([("a", 0, "x", "i1"), ("a", 0, "x", "i1"), ("a", 4, "y", "i2"),
                  ("b", 10, "y", "i3")])  # fmt: skip
    values, names = aggregate_block(ev, ["a", "b", "nobody"])
    col = {n: values[:, k] for k, n in enumerate(names)}
    np.testing.assert_allclose(col["log_events"], np.log1p([3, 1, 0]), rtol=1e-6)
    np.testing.assert_allclose(col["log_events:x"], np.log1p([2, 0, 0]), rtol=1e-6)
    np.testing.assert_allclose(col["share:y"], [1 / 3, 1, 0], rtol=1e-6)
    np.testing.assert_allclose(col["log_span_days"], np.log1p([4, 0, 0]), rtol=1e-6)
    np.testing.assert_allclose(col["log_events_per_day"], np.log1p([1.5, 1, 0]), rtol=1e-6)
    np.testing.assert_allclose(col["log_recency_days"], np.log1p([6, 0, 0]), rtol=1e-6)
    np.testing.assert_allclose(col["distinct_item_share"], [2 / 3, 1, 0], rtol=1e-6)


def test_svd_sees_only_the_fit_events():
    fit = _events([(u, 0, "x", f"i{(k + j) % 6}") for k, u in enumerate("abcdef")
                   for j in range(3)])  # fmt: skip
    later = pl.concat([fit, _events([("g", 1, "x", "unseen1"), ("g", 2, "x", "unseen2")])])
    out = svd_block(later, ["a", "g"], fit_events=fit, dim=8)
    assert out.shape == (2, 8)  # padded: 6 items allow only 5 components
    assert np.abs(out[0]).sum() > 0
    np.testing.assert_array_equal(out[1], 0.0)  # items never seen in fitting carry nothing
    # refitting on events that include g's items changes the components
    assert not np.allclose(svd_block(later, ["a"], dim=8), out[:1])


def test_text_mean_is_whitened_over_users():
    rows = [(f"u{u}", d, "x", f"i{(u * 7 + d) % 40}") for u in range(30) for d in range(5)]
    ids = [f"u{u}" for u in range(30)]
    white = text_mean_block(_events(rows), ids, FakeBackbone())
    np.testing.assert_allclose(white.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(white.std(axis=0, ddof=1), 1.0, rtol=1e-3)
    raw = text_mean_block(_events(rows), ids, FakeBackbone(), whiten=False)
    first = FakeBackbone().encode([f"movie i{d % 40}" for d in range(5)]).mean(axis=0)
    np.testing.assert_allclose(raw[0], first, rtol=1e-5)


def _table(tmp_path, n=12):
    rows = [(f"u{u}", d, "xy"[d % 2], f"i{(u + d) % 9}") for u in range(n) for d in range(4)]
    ev = _events(rows)
    ids = [f"u{u}" for u in range(n)]
    learned = np.random.default_rng(0).normal(size=(n, 5)).astype(np.float32)
    features = pl.DataFrame(
        {"user_id": ids, "vector": learned},
        schema={"user_id": pl.String, "vector": pl.Array(pl.Float32, 5)},
    )
    blocks = compute_blocks(ev, ids, ["learned", "zero-shot", "svd", "aggregates"],
                            backbone=FakeBackbone(), svd_dim=4)  # fmt: skip
    return write_feature_table(features, tmp_path, {"objective": "toy"}, blocks), blocks, learned


def test_blocks_in_the_table_line_up_with_metadata(tmp_path):
    _, blocks, learned = _table(tmp_path)
    table = read_feature_table(tmp_path)
    meta = table.metadata["blocks"]
    assert [b["name"] for b in meta] == ["learned", "zero-shot", "svd", "aggregates"]
    assert [b["offset"] for b in meta] == [0, 5, 5 + 8, 5 + 8 + 4]
    X, layout = table.matrix()
    assert X.shape == (12, layout.dim) == (12, sum(b["dim"] for b in meta))
    np.testing.assert_array_equal(X[:, :5], learned)
    for b in meta[1:]:
        np.testing.assert_array_equal(
            X[:, b["offset"] : b["offset"] + b["dim"]], blocks[b["name"]][0]
        )
        np.testing.assert_array_equal(
            np.stack(table.features[b["column"]].to_numpy()), blocks[b["name"]][0]
        )
    assert meta[3]["columns"][0] == "log_events" and len(meta[3]["columns"]) == meta[3]["dim"]
    assert table.index().ntotal == 12 and table.vectors.shape == (12, 5)  # index: learned only


def test_block_selection_rebases_offsets(tmp_path):
    _table(tmp_path)
    table = read_feature_table(tmp_path)
    full, layout = table.matrix()
    X, sub = table.matrix(["aggregates", "learned"])
    agg = layout.blocks[3]
    assert agg.dim == 9  # events; 2 services x (events, share); span, per day, recency, distinct
    assert sub.names == ["aggregates", "learned"] and [b.offset for b in sub.blocks] == [0, 9]
    np.testing.assert_array_equal(X[:, :9], full[:, agg.offset : agg.offset + agg.dim])
    np.testing.assert_array_equal(X[:, 9:], full[:, :5])
    assert sub.spec() == ((0, 9, "column"), (9, 5, "block"))
    with pytest.raises(ConfigError, match="unknown block"):
        table.matrix(["svd", "nope"])
    with pytest.raises(ConfigError, match="twice"):
        table.matrix(["svd", "svd"])


def test_a_table_without_blocks_has_one_learned_block(tmp_path):
    features = pl.DataFrame(
        {"user_id": ["a", "b"], "vector": np.eye(2, 3, dtype=np.float32)},
        schema={"user_id": pl.String, "vector": pl.Array(pl.Float32, 3)},
    )
    table = write_feature_table(features, tmp_path, {})
    table.metadata.pop("blocks")  # as written before blocks existed
    assert table.layout.names == ["learned"] and table.matrix()[0].shape == (2, 3)
    with pytest.raises(ByodError, match="shape"):
        write_feature_table(features, tmp_path, {}, {"svd": (np.zeros((3, 2)), ())})


def test_parse_blocks():
    assert parse_blocks("learned, svd") == ["learned", "svd"] and parse_blocks(None) is None
    with pytest.raises(ConfigError, match="comma-separated"):
        parse_blocks("learned,tfidf")
    assert BlockLayout.build([("svd", "svd", 3, ())]).blocks[0].scaling == "block"


def test_new_users_land_in_the_fitted_space(tmp_path):
    rows = [(f"u{u}", d, "xy"[d % 2], f"i{(u * 3 + d) % 11}") for u in range(25) for d in range(6)]
    ev = _events(rows)
    ids = [f"u{u}" for u in range(25)]
    names = ["zero-shot", "svd", "aggregates"]
    state: dict = {}
    fitted = compute_blocks(ev, ids, names, backbone=FakeBackbone(), svd_dim=4, state=state)
    features = pl.DataFrame(
        {"user_id": ids, "vector": np.zeros((25, 2), np.float32)},
        schema={"user_id": pl.String, "vector": pl.Array(pl.Float32, 2)},
    )
    write_feature_table(features, tmp_path, {}, fitted, state)
    reread = read_feature_table(tmp_path).block_state()
    assert sorted(reread) == sorted(state)
    # u3 alone (another batch, only x events kept) vs u3 inside the fit: same transforms
    alone = compute_blocks(ev.filter(pl.col("user_id") == "u3"), ["u3"], names,
                           backbone=FakeBackbone(), svd_dim=4, state=reread)  # fmt: skip
    for name in ("zero-shot", "svd"):
        np.testing.assert_allclose(alone[name][0][0], fitted[name][0][3], rtol=1e-4, atol=1e-5)
    assert alone["aggregates"][1] == fitted["aggregates"][1]  # same services, same columns
    refit = compute_blocks(ev.filter(pl.col("user_id") == "u3"), ["u3"], ["aggregates"])
    assert len(refit["aggregates"][1]) == len(fitted["aggregates"][1])
