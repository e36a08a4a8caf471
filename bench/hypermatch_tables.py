"""Markdown tables shared by the HyperMatch benchmarks: every metric, the headline first.

Rows are dicts with ``method``, ``seed``, ``accuracy``, ``macro_f1``, ``balanced_accuracy`` and
optionally ``fit_s``. The headline metric (``byod.textlab.metrics.headline_metric``: macro-F1 on an
imbalanced test set, else accuracy) drives the comparison columns and the labels-needed lines.
"""

from __future__ import annotations

import math

import polars as pl

from byod.textlab.curve import labels_needed, summarize_curve
from byod.textlab.metrics import METRICS

NAMES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "balanced_accuracy": "balanced acc."}


def method_table(rows: list[dict], headline: str) -> list[str]:
    """``| method | <metrics, mean ± std> | vs supervised | vs SetFit | fit s |`` lines."""
    df = pl.DataFrame(rows)
    if "fit_s" not in df.columns:
        df = df.with_columns(fit_s=pl.lit(float("nan")))
    aggs = [pl.col(m).mean().alias(f"{m}_mean") for m in METRICS]
    aggs += [pl.col(m).std().alias(f"{m}_std") for m in METRICS]
    summ = df.group_by("method", maintain_order=True).agg(*aggs, fit_s=pl.col("fit_s").mean(),
                                                           runs=pl.len())  # fmt: skip
    means = dict(zip(summ["method"], summ[f"{headline}_mean"], strict=True))
    order = [headline, *(m for m in METRICS if m != headline)]
    head = " | ".join(f"{NAMES[m]}{' (headline)' if m == headline else ''}" for m in order)
    lines = [
        f"| method | {head} | vs supervised (pts) | vs SetFit (pts) | fit s | runs |",
        "|---|" + "---|" * (len(order) + 4),
    ]
    for r in summ.iter_rows(named=True):
        cells = " | ".join(f"{r[f'{m}_mean']:.3f} ± {r[f'{m}_std'] or 0:.3f}" for m in order)
        vs_sup = _points(r[f"{headline}_mean"], means.get("supervised"))
        vs_sf = _points(r[f"{headline}_mean"], means.get("setfit"))
        fit = "" if r["fit_s"] is None or math.isnan(r["fit_s"]) else f"{r['fit_s']:.1f}"
        lines.append(f"| {r['method']} | {cells} | {vs_sup} | {vs_sf} | {fit} | {r['runs']} |")
    return lines


def curve_lines(
    curve: list[dict], target: float, headline: str, n_classes: int, n_pool: int
) -> list[str]:
    """Labels needed to reach ``target`` and the mean curve, on the headline metric."""
    summary = summarize_curve(pl.DataFrame(curve), headline)
    lines = [
        f"Labels per class to reach {NAMES[headline]} {target:.3f} (full supervision - 2 pts):"
    ]
    for m in summary["method"].unique(maintain_order=True).to_list():
        part = summary.filter(pl.col("method") == m).sort("per_class")
        need = labels_needed(part["per_class"].to_list(), part["mean"].to_list(), target)
        if math.isnan(need):
            lines.append(f"- {m}: not reached by {part['per_class'].max()}")
        else:
            share = 100 * need * n_classes / n_pool
            lines.append(f"- {m}: {need:.1f} ({share:.1f} % of the pool's labels)")
    budgets = sorted(set(summary["per_class"]))
    lines += ["", f"curve (mean {NAMES[headline]} by labels per class):", "",
              "| method | " + " | ".join(str(b) for b in budgets) + " |",
              "|---|" + "---|" * len(budgets)]  # fmt: skip
    for m in summary["method"].unique(maintain_order=True).to_list():
        part = summary.filter(pl.col("method") == m).sort("per_class")
        lines.append(f"| {m} | " + " | ".join(f"{v:.3f}" for v in part["mean"]) + " |")
    return lines


def _points(value: float, reference: float | None) -> str:
    return "n/a" if reference is None else f"{100 * (value - reference):+.1f}"
