"""The audit summary page shows scores a person can compare (not ``0.000`` for every suspect)."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from byod.labels.audit import AuditResult
from byod.labels.report import audit_html, minus_log10, readable_probability


def test_tiny_posteriors_are_readable_and_ordered() -> None:
    assert readable_probability(1.2e-7) == "1.2e-07" and readable_probability(0.4567) == "45.7%"
    assert readable_probability(0.0) == "0" and readable_probability(0.005) == "5.0e-03"
    assert minus_log10(1e-7) == "7.0" and minus_log10(0.5) == "0.3" and minus_log10(1.0) == "0.0"


def test_summary_page_scores_are_not_all_zero() -> None:
    scores = np.array([3.2e-7, 8.9e-6, 4.1e-4, 0.93])
    given = np.array(["pos", "neg", "pos", "neg"], dtype=object)
    result = AuditResult(
        classes=np.array(["neg", "pos"]),
        given=given,
        posterior=np.column_stack([1 - scores, scores]),
        score=scores,
        flagged=scores < 0.5,
        suggested=np.array(["neg", "pos", "neg", "neg"], dtype=object),
        first_round_probs=np.full((4, 2), 0.5),
        history=[{"round": 1, "mean_given_posterior": 0.23, "flagged": 3}],
    )
    suspects = pl.DataFrame({"text": ["a", "b", "c", "d"], "given": given.astype(str),
                             "suggested": result.suggested.astype(str), "score": scores})  # fmt: skip
    page = audit_html(result, suspects, title="t")
    cells = re.findall(r"<td>([^<]*)</td>", page.split("Top 30 suspects")[1])
    assert cells[3:5] == ["3.2e-07", "6.5"] and cells[8:10] == ["8.9e-06", "5.1"]
    assert cells[13:15] == ["4.1e-04", "3.4"] and cells[18:20] == ["93.0%", "0.0"]
    assert "0.000" not in cells
    assert "one chance in ten million" in page  # the page says what the scores mean


def test_summary_page_names_the_capped_classes() -> None:
    scores = np.array([0.2, 0.9, 0.8])
    result = AuditResult(
        classes=np.array(["big", "rare"]),
        given=np.array(["rare", "big", "big"], dtype=object),
        posterior=np.column_stack([1 - scores, scores]),
        score=scores,
        flagged=scores < 0.5,
        suggested=np.array(["big", "big", "big"], dtype=object),
        first_round_probs=np.full((3, 2), 0.5),
        history=[{"round": 1, "mean_given_posterior": 0.6, "flagged": 1}],
        class_trust=np.array([1.0, 0.31]),
    )
    suspects = pl.DataFrame({"text": ["a", "b", "c"], "given": result.given.astype(str),
                             "suggested": result.suggested.astype(str), "score": scores})  # fmt: skip
    page = audit_html(result, suspects, title="t")
    assert "<b>Capped:</b> rare." in page and "<td>0.31</td>" in page
