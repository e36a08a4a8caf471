"""A short, self-contained HTML summary of an audit (no scripts, no external assets)."""

from __future__ import annotations

import html
import math
from collections import Counter

import polars as pl

from byod.labels.audit import AuditResult

__all__ = ["audit_html", "readable_probability", "minus_log10"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    "th{background:#f3f3f3}.num{text-align:right}"
)


def _table(rows: list[list[str]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def readable_probability(p: float) -> str:
    """A probability a person can compare: ``12.3%`` from 1 %, else ``4.2e-07``, never ``0.000``."""
    if not math.isfinite(p):
        return str(p)
    if p >= 0.01:
        return f"{p:.1%}"
    return "0" if p <= 0 else f"{p:.1e}"


def minus_log10(p: float) -> str:
    """``−log10 p`` with one decimal: 7.0 means one in ten million; larger is more suspect."""
    return f"{-math.log10(max(p, 1e-300)):.1f}" if p < 1 else "0.0"


_SCORE_NOTE = (
    "<p><b>Reading the scores.</b> <i>P(given)</i> is the audit's posterior probability that the "
    "given label is right, after every round; a suspect is flagged when another label is more "
    "probable. The posteriors of strong suspects are tiny, so they are written as powers of ten "
    "(<code>3.2e-07</code> = 0.00000032) and as <i>−log<sub>10</sub> P</i>: 7.0 means one chance "
    "in ten million that the given label is right; each step of 1 is ten times more suspect. "
    "<code>scores.csv</code> keeps the exact values.</p>"
)


def _class_table(result: AuditResult, per_class: Counter) -> str:
    """Flags per given label, and the weight of the checkers' evidence where it was capped."""
    trust = result.class_trust if result.class_trust is not None else [1.0] * len(result.classes)
    rows = [
        [c, per_class.get(str(c), 0), f"{w:.2f}"]
        for c, w in zip(result.classes, trust, strict=True)
    ]
    table = _table(rows, ["given label", "flagged", "checker trust"])
    capped = [str(c) for c, w in zip(result.classes, trust, strict=True) if w < 1]
    if not capped:
        return table
    return table + (
        f"<p><b>Capped:</b> {html.escape(', '.join(capped))}. The checkers would have flagged "
        "most of these classes, which says they cannot recognise them rather than that most of "
        "their labels are wrong; their evidence on them was discounted (<i>checker trust</i>) "
        "until at most half of each class is flagged. Review these flags with care, or audit "
        "with a stronger checker.</p>"
    )


def audit_html(result: AuditResult, suspects: pl.DataFrame, *, title: str, top: int = 30) -> str:
    """The summary page: counts, per-class flags, the round history and the top suspects."""
    n, flagged = len(result.given), int(result.flagged.sum())
    per_class = Counter(str(g) for g, f in zip(result.given, result.flagged, strict=True) if f)
    moves = Counter(
        f"{g} → {s}"
        for g, s, f in zip(result.given, result.suggested, result.flagged, strict=True)
        if f
    )
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{n:,} examples, {len(result.classes)} classes; <b>{flagged:,} flagged</b> "
        f"({flagged / max(n, 1):.1%}): another label is more probable than the given one.</p>",
        "<h2>Rounds</h2>",
        _table(
            [
                [h["round"], f"{h['mean_given_posterior']:.3f}", h["flagged"]]
                for h in result.history
            ],
            ["round", "mean posterior of given label", "flagged"],
        ),  # fmt: skip
        "<h2>Flags by given label</h2>",
        _class_table(result, per_class),
        "<h2>Most common corrections</h2>",
        _table([[m, c] for m, c in moves.most_common(10)], ["given → suggested", "count"]),
        f"<h2>Top {top} suspects</h2>",
        _SCORE_NOTE,
        _table(
            [
                [
                    r["text"][:200],
                    r["given"],
                    r["suggested"],
                    readable_probability(r["score"]),
                    minus_log10(r["score"]),
                ]
                for r in suspects.head(top).iter_rows(named=True)
            ],
            ["text", "given", "suggested", "P(given)", "−log10 P"],
        ),  # fmt: skip
    ]
    return (
        "<!doctype html><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>" + "".join(parts)
    )
