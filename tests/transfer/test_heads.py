import numpy as np
import pytest
from scipy import sparse

from byod.errors import ConfigError
from byod.transfer.heads import WIDE_CS, BlockScaler, make_head


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "a", "b")
    return X, y


@pytest.mark.parametrize("name", ["logistic", "mlp"])
def test_learning_heads_beat_the_majority_on_a_separable_set(name, toy):
    X, y = toy
    assert make_head(name).fit(X[:200], y[:200]).score(X[200:], y[200:]) > 0.85


def test_unknown_head_is_named():
    with pytest.raises(ConfigError, match="unknown head 'svm'"):
        make_head("svm")


def test_block_scaler_modes_and_training_statistics():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(5, 3, size=(200, 2)), rng.normal(0, 100, size=(200, 3)),
                        rng.normal(7, 1, size=(200, 1))], axis=1)  # fmt: skip
    scaler = BlockScaler(((0, 2, "column"), (2, 3, "block"), (5, 1, "none"))).fit(X[:150])
    Z = scaler.transform(X[:150])
    np.testing.assert_allclose(Z[:, :2].std(axis=0), 1.0, rtol=1e-9)
    np.testing.assert_allclose((Z[:, 2:5] ** 2).sum(axis=1).mean(), 1.0, rtol=1e-9)
    # one scalar per block: the ratios between its columns survive
    raw = X[:150, 2:5] - X[:150, 2:5].mean(axis=0)
    np.testing.assert_allclose(Z[:, 2:5] / raw, Z[0, 2] / raw[0, 0], rtol=1e-9)
    np.testing.assert_array_equal(Z[:, 5], X[:150, 5])
    # held-out rows use the training statistics
    np.testing.assert_allclose(scaler.transform(X[150:])[:, 0], (X[150:, 0] - X[:150, 0].mean())
                               / X[:150, 0].std(), rtol=1e-9)  # fmt: skip
    with pytest.raises(ConfigError, match="cover"):
        BlockScaler(((0, 2, "column"),)).fit(X)


def test_per_block_scaling_keeps_a_wide_block_from_drowning_a_narrow_one():
    # signal in one narrow column; 200 noise columns. Per-column scaling gives the noise 200
    # times the say of the signal; per-block scaling gives each block one unit.
    rng = np.random.default_rng(2)
    n = 400
    y = rng.integers(0, 2, n)
    signal = (y + rng.normal(0, 0.7, n))[:, None]
    X = np.concatenate([signal, rng.normal(size=(n, 200))], axis=1)
    blocks = ((0, 1, "column"), (1, 200, "block"))
    per_block = make_head("logistic", C=0.01, blocks=blocks).fit(X[:300], y[:300])
    per_column = make_head("logistic", C=0.01, scaling="column").fit(X[:300], y[:300])
    assert per_block.score(X[300:], y[300:]) > per_column.score(X[300:], y[300:]) + 0.03


def test_c_is_searched_over_the_wide_grid_on_the_rows_given():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 5))
    noise = rng.integers(0, 2, 300)
    clean = (X[:, 0] > 0).astype(int)
    assert make_head("logistic").fit(X, noise).tuned_params_["C"] == min(WIDE_CS)
    assert make_head("logistic").fit(X, clean).tuned_params_["C"] >= 1.0
    assert min(WIDE_CS) == 1e-3 and max(WIDE_CS) == 100.0


def test_sparse_bags_are_not_scaled_per_column():
    X = sparse.random(100, 30, density=0.2, random_state=0, format="csr")
    y = np.arange(100) % 2
    head = make_head("logistic", C=1.0).fit(X, y)
    assert len(head.pipeline_) == 1  # no scaler in front of the model
    with pytest.raises(ConfigError, match="sparse"):
        make_head("logistic", C=1.0, scaling="column").fit(X, y)
