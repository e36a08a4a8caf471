"""Audit views: stacked blocks, a TF-IDF view, and the checker that votes across views."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from byod.errors import ByodError
from byod.labels import audit, corrupt
from byod.labels.views import stack_views, tfidf_view, view_ensemble


def _two_views(n_per: int = 60, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Two noisy views of 3 classes: each alone confuses a different pair of classes."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per)
    a_centers = np.array([[3.0, 0.0], [3.0, 0.0], [-3.0, 0.0]])  # view a: 0 and 1 alike
    b_centers = np.array([[0.0, 3.0], [0.0, -3.0], [0.0, -3.0]])  # view b: 1 and 2 alike
    views = {
        "a": a_centers[y] + rng.normal(size=(len(y), 2)),
        "b": b_centers[y] + rng.normal(size=(len(y), 2)),
    }
    return views, np.array(["x", "y", "z"])[y]


def test_stack_views_names_each_block() -> None:
    views = {"a": np.ones((4, 2)), "b": np.zeros((4, 3))}
    x, blocks = stack_views(views)
    assert x.shape == (4, 5)
    assert blocks == [("a", 0, 2), ("b", 2, 5)]
    for name, start, stop in blocks:
        np.testing.assert_array_equal(x[:, start:stop], views[name])
    with pytest.raises(ByodError, match="different row counts"):
        stack_views({"a": np.ones((4, 2)), "b": np.ones((3, 2))})
    with pytest.raises(ByodError, match="no views"):
        stack_views({})


def test_ensemble_combines_per_view_probabilities() -> None:
    views, y = _two_views()
    x, blocks = stack_views(views)
    members = [
        LogisticRegression(max_iter=2000).fit(views[n], y).predict_proba(views[n]) for n in views
    ]
    mean = view_ensemble(blocks, combine="mean")().fit(x, y)
    np.testing.assert_allclose(mean.predict_proba(x), np.mean(members, axis=0), atol=1e-6)
    product = view_ensemble(blocks)().fit(x, y)
    geo = np.sqrt(members[0] * members[1])
    np.testing.assert_allclose(product.predict_proba(x), geo / geo.sum(1, keepdims=True), atol=1e-6)
    assert list(product.classes_) == ["x", "y", "z"]
    assert (product.predict(x) == y).mean() > 0.9  # each view alone is at most ~2 / 3 right
    with pytest.raises(ByodError, match="combine"):
        view_ensemble(blocks, combine="max")


def test_voting_across_views_finds_flips_that_each_view_alone_misses() -> None:
    views, y = _two_views(n_per=80)
    noisy, flipped = corrupt(y, 0.15, seed=2)
    x, blocks = stack_views(views)
    options = {"n_splits": 2, "n_folds": 4, "n_rounds": 2, "seed": 0}
    both = audit(x, noisy, checker=view_ensemble(blocks), **options)
    for name in views:
        alone = audit(views[name], noisy, **options)
        assert both.flagged[flipped].mean() > alone.flagged[flipped].mean() + 0.2, name
    assert both.flagged[flipped].mean() >= 0.8
    assert both.flagged[~flipped].mean() <= 0.1


def test_tfidf_view_is_normalised_and_label_free() -> None:
    texts = [f"a {w} film with {v} acting" for w in ("great", "dull", "warm") for v in "xyz"] * 3
    x = tfidf_view(texts, dim=8)
    assert x.shape == (len(texts), 8)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(x[:9], x[9:18])  # the same text gets the same row
    with pytest.raises(ByodError, match="at least 2 texts"):
        tfidf_view(["one"])
