"""One contract over every estimator byod fits on frozen features (scikit-learn's rules).

``__init__`` only stores arguments, ``fit`` returns ``self``, learned state ends in ``_``,
prediction before ``fit`` raises scikit-learn's ``NotFittedError`` (``check_is_fitted``),
``clone`` / ``get_params`` round-trip, and the same seed gives the same predictions.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from byod.transfer.heads import HEADS, BlockScaler, make_head

# every head by name, plus the scaler the heads put in front of their model
ESTIMATORS = {**{name: (lambda n=name: make_head(n, cv=3)) for name in HEADS},
              "block-scaler": lambda: BlockScaler(((0, 2, "column"), (2, 4, "block")))}  # fmt: skip


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "a", "b")
    return X, y


def _outputs(estimator, X):  # noqa: N803
    if hasattr(estimator, "predict_proba"):
        return estimator.predict(X), estimator.predict_proba(X)
    return (estimator.transform(X),)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_init_stores_arguments_and_clone_round_trips(name) -> None:
    est = ESTIMATORS[name]()
    assert not [k for k in vars(est) if k.endswith("_")]
    params = est.get_params()
    assert clone(est).get_params() == params
    assert type(est)(**params).get_params() == params


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_not_fitted_is_one_error(name, toy) -> None:
    X, _ = toy
    est = ESTIMATORS[name]()
    methods = ["predict", "predict_proba"] if hasattr(est, "predict_proba") else ["transform"]
    for method in methods:
        with pytest.raises(NotFittedError):
            getattr(est, method)(X)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_fit_returns_self_and_outputs_have_the_right_shapes(name, toy) -> None:
    X, y = toy
    est = ESTIMATORS[name]()
    assert est.fit(X, y) is est
    assert [k for k in vars(est) if k.endswith("_") and not k.startswith("_")]
    out = _outputs(est, X[:7])
    if len(out) == 2:
        labels, proba = out
        assert labels.shape == (7,) and proba.shape == (7, 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        assert set(labels) <= set(est.classes_)
        assert (labels == est.classes_[proba.argmax(axis=1)]).all()
    else:
        assert out[0].shape == (7, 6)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_same_seed_same_predictions(name, toy) -> None:
    X, y = toy
    first = _outputs(ESTIMATORS[name]().fit(X, y), X)
    again = _outputs(clone(ESTIMATORS[name]()).fit(X, y), X)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
