"""HyperMatch head: learns from few labels, uses unlabelled views and LLM soft labels; save / load."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from byod.errors import ByodError
from byod.textlab.model import load_classifier, save_classifier
from byod.textlab.semisup import HyperMatchHead, SSLConfig, token_dropout


def blobs(n: int, seed: int, shift: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Two balanced Gaussian classes in 8-d, separated along the first axis (Bayes rate ~0.98)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, 8)).astype(np.float32)
    x[:, 0] += np.where(y == 1, shift, -shift)
    return x, np.where(y == 1, "pos", "neg")


def test_head_learns_from_labelled_data() -> None:
    x, y = blobs(40, 0)
    xt, yt = blobs(400, 1)
    head = HyperMatchHead(SSLConfig(steps=200), seed=0).fit(x, y)
    assert (head.predict(xt) == yt).mean() > 0.9
    np.testing.assert_allclose(head.predict_proba(xt).sum(axis=1), 1.0, atol=1e-6)
    assert list(head.classes_) == ["neg", "pos"]


def test_confident_llm_labels_on_unlabelled_data_help_with_two_labels() -> None:
    x, y = blobs(2, 0)  # one label per class, far too few
    x_u, y_u = blobs(400, 2)
    xt, yt = blobs(400, 3)
    # A noisy but informative LLM: right 85 % of the time, confident.
    rng = np.random.default_rng(0)
    right = rng.random(400) < 0.85
    guess = np.where(right, y_u, np.where(y_u == "pos", "neg", "pos"))
    p_llm = np.where((guess == "pos")[:, None], [0.05, 0.95], [0.95, 0.05])
    views = x_u[None] + rng.normal(scale=0.3, size=(2, *x_u.shape)).astype(np.float32)
    alone = HyperMatchHead(SSLConfig(steps=200), seed=0).fit(x, y)
    ssl = HyperMatchHead(SSLConfig(steps=200, warmup=0), seed=0).fit(
        x, y, x_weak=x_u, x_strong=views, p_llm=p_llm
    )
    acc = lambda h: (h.predict(xt) == yt).mean()  # noqa: E731
    assert acc(ssl) > 0.9 and acc(ssl) >= acc(alone)
    assert 0 < ssl.mask_rate_ <= 1


def test_soft_labelled_augmented_examples_count() -> None:
    x, y = blobs(2, 0)
    x_aug, y_aug = blobs(200, 4)
    p_aug = np.where((y_aug == "pos")[:, None], [0.1, 0.9], [0.9, 0.1])
    xt, yt = blobs(400, 5)
    head = HyperMatchHead(SSLConfig(steps=200), seed=0).fit(x, y, x_aug=x_aug, p_aug=p_aug)
    assert (head.predict(xt) == yt).mean() > 0.85


def test_shape_errors_are_named() -> None:
    x, y = blobs(10, 0)
    with pytest.raises(ValueError, match="p_aug must be"):
        HyperMatchHead().fit(x, y, x_aug=x, p_aug=np.ones((10, 3)))
    with pytest.raises(ValueError, match="give both"):
        HyperMatchHead().fit(x, y, x_aug=x)
    with pytest.raises(ValueError, match="not among classes"):
        HyperMatchHead().fit(x, y, classes=np.array(["neg", "other"]))
    with pytest.raises(NotFittedError):
        HyperMatchHead().predict(x)


def test_token_dropout_keeps_at_least_one_word() -> None:
    rng = np.random.default_rng(0)
    out = token_dropout(["one two three four five six", "solo", ""], 0.99, rng)
    assert len(out[0].split()) >= 1 and out[1] == "solo" and out[2] == ""
    assert set(out[0].split()) <= set(["one", "two", "three", "four", "five", "six"])


def test_classifier_round_trips_without_pickle(tmp_path, rt_task) -> None:
    x, y = blobs(40, 0)
    y = np.where(y == "pos", "fresh", "rotten")
    head = HyperMatchHead(SSLConfig(steps=50, hidden=8), seed=0).fit(x, y)
    save_classifier(head, tmp_path / "m", backbone="minilm", task=rt_task)
    loaded, card = load_classifier(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(x), head.predict_proba(x), atol=1e-6)
    assert card["backbone"] == "minilm" and card["classes"] == ["fresh", "rotten"]
    with pytest.raises(ByodError, match="no classifier.json"):
        load_classifier(tmp_path)


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_labels_only_head_is_the_supervised_baseline(standardize, n_classes, tmp_path, rt_task):
    """No LLM, no unlabelled views: the linear head predicts what LogisticHead predicts."""
    import torch

    from byod.transfer.heads import LogisticHead

    rng = np.random.default_rng(n_classes)
    names = np.array(["c", "b", "a"][-n_classes:])  # task order, not sorted
    y = np.repeat(names[::-1], 8)
    x = rng.normal(size=(len(y), 16)).astype(np.float32)
    x[:, 0] += 2.0 * (y == names[0])
    head = HyperMatchHead(SSLConfig(standardize=standardize), seed=3).fit(x, y, classes=names)
    assert head.trained_by_ == "logistic" and head.history_ == []

    def inputs(a: np.ndarray) -> np.ndarray:  # what the head's linear layer reads
        return head.head_[0](torch.as_tensor(a)).numpy().astype(np.float64)

    baseline = LogisticHead().fit(inputs(x), y)
    xt = rng.normal(size=(200, 16)).astype(np.float32)
    order = [list(baseline.classes_).index(c) for c in head.classes_]
    expected = baseline.predict_proba(inputs(xt))[:, order]
    np.testing.assert_allclose(head.predict_proba(xt), expected, atol=1e-5)
    assert head.tuned_params_ == baseline.tuned_params_
    if n_classes == 2 and not standardize:  # the saved layer is an ordinary linear head
        save_classifier(head, tmp_path / "m", backbone="minilm", task=rt_task)
        loaded, _ = load_classifier(tmp_path / "m")
        np.testing.assert_allclose(loaded.predict_proba(xt), expected, atol=1e-5)


def test_labels_only_gradient_head_stays_selectable_and_is_used_when_it_must() -> None:
    x, y = blobs(40, 0)
    sgd = HyperMatchHead(SSLConfig(steps=20, labels_only="sgd")).fit(x, y)
    assert sgd.trained_by_ == "sgd" and len(sgd.history_) == 20
    missing = HyperMatchHead(SSLConfig(steps=20)).fit(x, y, classes=np.array(["neg", "pos", "x"]))
    assert missing.trained_by_ == "sgd"  # a class without labels: logistic regression cannot
    mlp = HyperMatchHead(SSLConfig(steps=20, hidden=4)).fit(x, y)
    assert mlp.trained_by_ == "sgd"  # an MLP head was asked for
    x_u, _ = blobs(40, 1)
    ssl = HyperMatchHead(SSLConfig(steps=20)).fit(x, y, x_weak=x_u, x_strong=x_u)
    assert ssl.trained_by_ == "sgd"
    with pytest.raises(ValueError, match="labels_only 'lbfgs' is unknown"):
        SSLConfig(labels_only="lbfgs")
