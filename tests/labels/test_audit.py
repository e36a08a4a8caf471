import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from byod.errors import ByodError
from byod.labels import audit, corrupt, update_posterior
from byod.labels.audit import out_of_sample, transition_matrix


def test_posterior_update_two_classes_by_hand() -> None:
    belief = np.array([[0.8, 0.2]])  # prior: the given label (class 0) is right with 0.8
    likelihood = np.array([[0.1, 0.9]])  # the checkers vote for class 1
    t = transition_matrix(2, stay=0.9)  # [[0.9, 0.1], [0.1, 0.9]]
    # predicted = [0.8*0.9 + 0.2*0.1, 0.8*0.1 + 0.2*0.9] = [0.74, 0.26]
    # posterior ∝ [0.74*0.1, 0.26*0.9] = [0.074, 0.234] -> [0.24026, 0.75974]
    post = update_posterior(belief, likelihood, t)
    np.testing.assert_allclose(post, [[0.074 / 0.308, 0.234 / 0.308]], rtol=1e-9)


def _blobs(n_per: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.array([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]])
    x = np.concatenate([c + rng.normal(size=(n_per, 2)) for c in centers])
    y = np.repeat(np.array(["a", "b", "c"]), n_per)
    return x, y


def test_flags_recover_planted_flips_on_a_separable_set() -> None:
    x, y = _blobs()
    noisy, flipped = corrupt(y, 0.1, seed=3)
    result = audit(x, noisy, n_splits=2, n_folds=3, n_rounds=2, seed=0)
    assert result.flagged[flipped].mean() >= 0.9  # recall
    assert result.flagged[~flipped].mean() <= 0.05  # few false flags
    assert (result.suggested[flipped] == y[flipped]).mean() >= 0.9  # the fix is the true label
    assert np.all(result.score[flipped].max() < result.score[~flipped].mean())
    np.testing.assert_allclose(result.posterior.sum(1), 1.0)


@pytest.mark.parametrize("kind", ["uniform", "class_conditional"])
def test_corruption_hits_the_requested_rate(kind) -> None:
    y = np.repeat(np.array(["x", "y", "z", "w"]), 250)
    noisy, flipped = corrupt(y, 0.2, kind=kind, seed=1)
    assert flipped.mean() == pytest.approx(0.2, abs=0.001)
    assert np.all(noisy[flipped] != y[flipped]) and np.all(noisy[~flipped] == y[~flipped])
    if kind == "class_conditional":  # each class goes to one fixed other class
        assert all(len(set(noisy[flipped & (y == c)])) == 1 for c in "xyzw")


def test_bad_input_is_named() -> None:
    x, y = _blobs(5)
    with pytest.raises(ByodError, match="1 class"):
        audit(x, np.array(["a"] * len(x)))
    with pytest.raises(ByodError, match="must match"):
        audit(x[:-1], y)
    with pytest.raises(ByodError, match="fewer examples than n_folds"):
        audit(x, y, n_folds=6)
    with pytest.raises(ByodError, match="missing values"):
        audit(x, np.array([*y[:-1], None], dtype=object))
    with pytest.raises(ByodError, match="NaN"):
        audit(np.where(np.arange(x.size).reshape(x.shape) == 0, np.nan, x), y)
    with pytest.raises(ByodError, match="at least 2"):
        corrupt(np.array(["a", "a"]), 0.1)


def test_a_fold_left_with_one_class_does_not_stop_the_audit() -> None:
    """Corrected labels can leave a class with 1 member: its fold trains on one class."""
    x = np.arange(12, dtype=float)[:, None]
    y = np.array([0] * 11 + [1])
    probs = out_of_sample(x, y, 2, LogisticRegression, n_folds=3, seed=0)
    assert probs.shape == (12, 2) and np.allclose(probs.sum(1), 1.0)


def test_an_unknown_evidence_rule_is_named() -> None:
    x, y = _blobs(10)
    with pytest.raises(ByodError, match="evidence must be one of"):
        audit(x, y, evidence="odds")
    with pytest.raises(ByodError, match="max_class_flags"):
        audit(x, y, max_class_flags=0)


def _unrecognisable_rare_class(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A class of 30 drawn from the same cloud as a class of 600: no checker can tell them."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(0, 1, (630, 4)), rng.normal(3, 1, (300, 4))])
    y = np.array(["big"] * 600 + ["rare"] * 30 + ["other"] * 300)
    return x, y


def test_the_guard_keeps_a_class_the_checkers_cannot_recognise() -> None:
    x, y = _unrecognisable_rare_class()
    off = audit(x, y, max_class_flags=1.0, n_rounds=2, seed=0)
    on = audit(x, y, n_rounds=2, seed=0)
    rare = y == "rare"
    assert off.flagged[rare].mean() > 0.9  # the whole class "relabelled" as big
    assert on.flagged[rare].mean() <= 0.5
    row = list(on.classes).index("rare")
    assert on.class_trust[row] < 1 and (np.delete(on.class_trust, row) == 1).all()
    assert on.history[-1]["capped_classes"] == 1
    # classes the checkers do recognise are audited as before
    np.testing.assert_array_equal(on.flagged[~rare], off.flagged[~rare])


def test_the_prior_shift_keeps_class_priors_from_compounding() -> None:
    """A weak rare class loses fewer members over the rounds with the prior-shift correction."""
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, (400, 4)), rng.normal(0.8, 1, (40, 4))])
    y = np.array([0] * 400 + [1] * 40)
    old = audit(x, y, evidence="probability", max_class_flags=1.0, seed=0)
    new = audit(x, y, evidence="shift", max_class_flags=1.0, seed=0)
    assert old.history[0] == new.history[0] | {"capped_classes": 0}  # round 1: no shift yet
    assert new.flagged[y == 1].sum() < old.flagged[y == 1].sum()
