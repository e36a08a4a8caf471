"""A short, self-contained HTML summary of an audit (no scripts, no external assets)."""

from __future__ import annotations

import html
from collections import Counter

import polars as pl

from byod.labels.audit import AuditResult

__all__ = ["audit_html"]

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
        _table([[c, per_class.get(str(c), 0)] for c in result.classes], ["given label", "flagged"]),
        "<h2>Most common corrections</h2>",
        _table([[m, c] for m, c in moves.most_common(10)], ["given → suggested", "count"]),
        f"<h2>Top {top} suspects</h2>",
        _table(
            [
                [r["text"][:200], r["given"], r["suggested"], f"{r['score']:.3f}"]
                for r in suspects.head(top).iter_rows(named=True)
            ],
            ["text", "given", "suggested", "score"],
        ),  # fmt: skip
    ]
    return (
        "<!doctype html><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>" + "".join(parts)
    )
