import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from byod.errors import ConfigError
from byod.transfer.heads import HEADS, make_head


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "a", "b")
    return X, y


@pytest.mark.parametrize("name", list(HEADS))
def test_every_head_follows_the_sklearn_contract(name, toy):
    X, y = toy
    head = make_head(name)
    assert not [k for k in vars(head) if k.endswith("_")]  # __init__ only stores arguments
    with pytest.raises(NotFittedError):
        head.predict_proba(X)
    assert head.fit(X, y) is head
    proba = head.predict_proba(X)
    assert proba.shape == (300, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert (head.predict(X) == head.classes_[proba.argmax(axis=1)]).all()
    assert clone(head).get_params() == head.get_params()


@pytest.mark.parametrize("name", ["logistic", "mlp"])
def test_learning_heads_beat_the_majority_on_a_separable_set(name, toy):
    X, y = toy
    assert make_head(name).fit(X[:200], y[:200]).score(X[200:], y[200:]) > 0.85


def test_unknown_head_is_named():
    with pytest.raises(ConfigError, match="unknown head 'svm'"):
        make_head("svm")
