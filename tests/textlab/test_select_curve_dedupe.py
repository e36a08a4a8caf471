"""Out-of-domain selection, data curves and the labels-needed estimate, dedupe, the curve report."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from byod.textlab.curve import curve_report, labels_needed, run_curve, sample_per_class
from byod.textlab.dedupe import dedupe
from byod.textlab.select import select_by_classifier, select_by_retrieval


def domain_data(seed: int = 0):  # noqa: ANN201
    rng = np.random.default_rng(seed)
    x_lab = np.r_[rng.normal([3, 0, 0, 0], 0.3, (10, 4)), rng.normal([0, 3, 0, 0], 0.3, (10, 4))]
    y_lab = np.array(["a"] * 10 + ["b"] * 10)
    near = np.r_[rng.normal([3, 0, 0, 0], 0.3, (30, 4)), rng.normal([0, 3, 0, 0], 0.3, (30, 4))]
    far = rng.normal([0, 0, 0, 3], 0.3, (60, 4))
    return x_lab, y_lab, np.r_[near, far]


def test_retrieval_selection_keeps_the_in_domain_part_of_the_pool() -> None:
    x_lab, y_lab, pool = domain_data()
    rng = np.random.default_rng(1)
    x_in = np.r_[rng.normal([3, 0, 0, 0], 0.3, (100, 4)), rng.normal([0, 3, 0, 0], 0.3, (100, 4))]
    sel = select_by_retrieval(pool, x_lab, y_lab, x_in=x_in)
    assert sel.keep[:60].mean() > 0.75 and sel.keep[60:].mean() == 0
    assert "retrieval: kept" in sel.summary() and sel.n_selected == sel.keep.sum()


def test_classifier_selection_keeps_what_looks_in_domain() -> None:
    x_lab, _, pool = domain_data()
    rng = np.random.default_rng(1)
    x_in = np.r_[
        x_lab, rng.normal([3, 0, 0, 0], 0.3, (40, 4)), rng.normal([0, 3, 0, 0], 0.3, (40, 4))
    ]
    sel = select_by_classifier(pool, x_in)
    assert sel.keep[:60].mean() > 0.7 and sel.keep[60:].mean() < 0.1


def test_labels_needed_interpolates_in_log_scale() -> None:
    assert labels_needed([2, 4, 8], [0.5, 0.6, 0.8], 0.7) == pytest.approx(math.pow(2, 2.5))
    assert labels_needed([2, 4], [0.9, 0.95], 0.8) == 2.0
    assert math.isnan(labels_needed([2, 4], [0.5, 0.6], 0.9))


def test_sample_per_class_is_balanced_and_seeded() -> None:
    labels = ["a"] * 50 + ["b"] * 5
    idx = sample_per_class(labels, 8, seed=0)
    picked = [labels[i] for i in idx]
    assert picked.count("a") == 8 and picked.count("b") == 5
    assert np.array_equal(idx, sample_per_class(labels, 8, seed=0))


def test_run_curve_and_report(tmp_path) -> None:
    pool = [f"t{i}" for i in range(40)]
    labels = ["a", "b"] * 20
    test_labels = ["a", "b"] * 5

    def good(texts, ys, seed):  # noqa: ANN001, ANN202 - accuracy grows with labels
        right = min(10, len(texts))
        return np.array(test_labels[:right] + ["zzz"] * (10 - right))

    curve = run_curve(
        {"good": good}, pool, labels, test_labels, budgets=(1, 2, 4), seeds=(0, 1), progress=False
    )
    assert curve.height == 6 and set(curve.columns) >= {"method", "per_class", "seed", "accuracy"}
    means = (
        curve.group_by("per_class")
        .agg(pl.col("accuracy").mean())
        .sort("per_class")["accuracy"]
        .to_list()
    )
    assert means == [0.2, 0.4, 0.8]
    page = curve_report(curve, tmp_path / "report", target=0.6)
    html = page.read_text()
    assert "data:image/png;base64" in html or "curve.png" in html
    assert "labels per class to reach 0.600" in html
    assert "2.8" in (tmp_path / "report" / "report.md").read_text()  # 2 ** 1.5


def test_dedupe_exact_and_near() -> None:
    texts = ["Great fun", "great  FUN", "a new one", "almost new one"]
    vectors = np.array([[1, 0], [1, 0], [0, 1], [0.05, 1]], dtype=np.float32)
    keep, counts = dedupe(
        texts, vectors, reference=["something else"], reference_vectors=np.array([[0.7, -0.7]])
    )
    assert keep.tolist() == [True, False, True, False]
    assert counts == {"exact": 1, "near": 1}
    keep, counts = dedupe(["x", "x", "y"], reference=["y"])
    assert keep.tolist() == [True, False, False] and counts["exact"] == 2
