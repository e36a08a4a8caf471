import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from byod.errors import ByodError
from byod.labels.audit import audit
from byod.labels.finetune import FineTunedChecker


def word_set(n=60, seed=0):
    """Texts whose label is set by their words (action-ish vs love-ish)."""
    rng = np.random.default_rng(seed)
    a, b = ["action", "war", "crime", "horror"], ["love", "kids", "music", "comedy"]
    y = np.array(["a", "b"] * (n // 2))
    texts = np.array(
        [" ".join(rng.choice(a if lab == "a" else b, 4)) + f" item {i % 30}" for i, lab in
         enumerate(y)], dtype=object
    )  # fmt: skip
    return texts, y


def test_fine_tuned_checker_learns_and_follows_the_contract(tiny_st_folder):
    texts, y = word_set()
    checker = FineTunedChecker(tiny_st_folder, epochs=4, lr=3e-3, batch_size=8)
    with pytest.raises(NotFittedError):
        checker.predict_proba(texts)
    assert checker.fit(texts[:40], y[:40]) is checker
    proba = checker.predict_proba(texts[40:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert (checker.predict(texts[40:]) == y[40:]).mean() >= 0.9


def test_audit_with_fine_tuned_checkers_ranks_planted_flips_first(tiny_st_folder):
    texts, y = word_set(80, seed=1)
    noisy = y.copy()
    flips = np.zeros(len(y), bool)
    flips[[3, 10, 25, 40, 61, 77]] = True
    noisy[flips] = np.where(y[flips] == "a", "b", "a")
    result = audit(
        texts, noisy, n_splits=1, n_folds=4, n_rounds=1,
        checker=lambda: FineTunedChecker(tiny_st_folder, epochs=4, lr=3e-3, batch_size=8),
    )  # fmt: skip
    assert roc_auc_score(flips, -result.score) > 0.9


def test_empty_texts_are_refused(tiny_st_folder):
    with pytest.raises(ByodError, match="non-empty texts"):
        FineTunedChecker(tiny_st_folder).fit(np.array(["ok", " "], dtype=object), ["a", "b"])


def test_cli_audit_with_the_fine_tuned_checker(tmp_path, tiny_st_folder, monkeypatch):
    import polars as pl
    from typer.testing import CliRunner

    from byod.cli.main import app

    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    texts, y = word_set(40, seed=2)
    y[[4, 17]] = np.where(y[[4, 17]] == "a", "b", "a")
    pl.DataFrame({"text": texts.tolist(), "label": y}).write_csv(tmp_path / "d.csv")
    out = CliRunner().invoke(app, ["labels", "audit", str(tmp_path / "d.csv"), "--text-column",
                                   "text", "--label-column", "label", "--backbone",
                                   str(tiny_st_folder), "--checker", "finetune", "--finetune-epochs", "4", "--finetune-lr", "3e-3", "--n-splits", "1",
                                   "--n-rounds", "1", "--out", str(tmp_path / "audit")])  # fmt: skip
    assert out.exit_code == 0, out.output
    scores = pl.read_csv(tmp_path / "audit" / "scores.csv")
    assert scores.height == 40
    assert {5, 18} <= set(scores.head(6)["row"].to_list()), scores.head(6)  # the planted flips
