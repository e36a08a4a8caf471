"""Result tables: rows built once, rendered as HTML or Markdown.

Every table of the report is a :class:`Table` (header, rows of strings, cells to emphasise) made by
one function from the transfer results; :func:`table_html` and :func:`table_markdown` render it,
so the HTML page and the Markdown twin always show the same numbers.
"""

from __future__ import annotations

import dataclasses
import html
import math
import re

import polars as pl

__all__ = [
    "Table",
    "CLASSIFY_REFERENCE",
    "RECOMMEND_REFERENCE",
    "headline_metric",
    "classification_summary",
    "classification_detail",
    "recommendation_summary",
    "recommendation_detail",
    "protocol_legend",
    "table_html",
    "table_markdown",
    "md_escape",
]

CLASSIFY_REFERENCE = "majority"
RECOMMEND_REFERENCE = "popularity"
CLASSIFY_COLUMNS = ("source", "task", "metric", "mean", "std", "n_seeds")
RECOMMEND_COLUMNS = ("source", "protocol", "segment", "metric", "value", "n_users")
_SUMMARY_RANKING = ("hr@10", "ndcg@10")
_METRIC_NAMES = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "auroc": "AUROC",
    "macro_f1": "macro F1",
    "hr@1": "HR@1",
    "hr@5": "HR@5",
    "hr@10": "HR@10",
    "ndcg@10": "NDCG@10",
    "mrr": "MRR",
}


@dataclasses.dataclass(frozen=True)
class Table:
    """A rendered-agnostic table.

    Attributes:
        header: column titles, ``(n_cols,)``.
        rows: cells as text, ``(n_rows, n_cols)``.
        bold: ``(row, col)`` cells to emphasise (the best value of a column).
        caption: one sentence under the table saying how to read it ("" for none).
    """

    header: list[str]
    rows: list[list[str]]
    bold: frozenset[tuple[int, int]] = frozenset()
    caption: str = ""


def _metric_name(metric: str) -> str:
    return _METRIC_NAMES.get(metric, metric)


def _ordered(values: pl.Series, first: str | None = None) -> list[str]:
    """Unique values in order of first appearance, ``first`` (if present) moved to the front."""
    seen = values.unique(maintain_order=True).to_list()
    if first in seen:
        seen.remove(first)
        seen.insert(0, first)
    return seen


def _best_cells(scores: dict[tuple[int, int], float]) -> frozenset[tuple[int, int]]:
    """The highest finite score of each column that has two or more (ties: the first row)."""
    best: dict[int, tuple[float, int]] = {}
    count: dict[int, int] = {}
    for (r, c), v in sorted(scores.items()):
        if math.isfinite(v):
            count[c] = count.get(c, 0) + 1
            if c not in best or v > best[c][0]:
                best[c] = (v, r)
    return frozenset((r, c) for c, (_, r) in best.items() if count[c] >= 2)


def headline_metric(classify: pl.DataFrame, task: str) -> str | None:
    """The metric a task is summarised by: AUROC when reported for it, else accuracy.

    Args:
        classify: the classification results (``source, task, metric, mean, std, n_seeds``).
        task: a task name, e.g. ``"gender"``.

    Returns:
        ``"auroc"``, ``"accuracy"``, or None when neither is reported.
    """
    metrics = set(classify.filter(pl.col("task") == task)["metric"].to_list())
    return next((m for m in ("auroc", "accuracy") if m in metrics), None)


def classification_summary(classify: pl.DataFrame) -> Table:
    """Sources x tasks, each cell the task's headline metric and its change vs majority.

    Args:
        classify: ``source, task, metric, mean, std, n_seeds`` rows.

    Returns:
        One row per source (the majority baseline first), one column per task; a cell reads
        ``0.812 ± 0.010 (+0.312 vs majority)`` and the best source of each task is bold.
    """
    tasks = _ordered(classify["task"])
    sources = _ordered(classify["source"], CLASSIFY_REFERENCE)
    headline = {t: headline_metric(classify, t) for t in tasks}
    cell = {
        (r["source"], r["task"]): (r["mean"], r["std"])
        for r in classify.iter_rows(named=True)
        if r["metric"] == headline[r["task"]]
    }
    rows, scores = [], {}
    for i, source in enumerate(sources):
        row = [source]
        for j, task in enumerate(tasks, start=1):
            if (source, task) not in cell:
                row.append("–")
                continue
            mean, std = cell[(source, task)]
            text = f"{mean:.3f} ± {std:.3f}"
            ref = cell.get((CLASSIFY_REFERENCE, task))
            if ref is not None and source != CLASSIFY_REFERENCE:
                text += f" ({mean - ref[0]:+.3f} vs {CLASSIFY_REFERENCE})"
            row.append(text)
            scores[(i, j)] = mean
        rows.append(row)
    header = ["source"] + [
        f"{t} ({_metric_name(headline[t])})" if headline[t] else t for t in tasks
    ]
    return Table(
        header,
        rows,
        _best_cells(scores),
        "Mean ± standard deviation over seeds of the task's headline metric (AUROC where "
        f"reported, else accuracy); in brackets the difference to the {CLASSIFY_REFERENCE} "
        "baseline. Bold: the best source per task.",
    )


def classification_detail(classify: pl.DataFrame) -> Table:
    """Every metric of every (task, source): mean ± std and the number of seeds.

    Args:
        classify: ``source, task, metric, mean, std, n_seeds`` rows.

    Returns:
        One row per (task, source), one column per metric, then ``seeds``.
    """
    metrics = _ordered(classify["metric"])
    values = {(r["task"], r["source"], r["metric"]): r for r in classify.iter_rows(named=True)}
    rows, scores = [], {}
    for task in _ordered(classify["task"]):
        sources = _ordered(classify.filter(pl.col("task") == task)["source"], CLASSIFY_REFERENCE)
        for source in sources:
            row, seeds = [task, source], set()
            for j, metric in enumerate(metrics, start=2):
                r = values.get((task, source, metric))
                row.append("–" if r is None else f"{r['mean']:.3f} ± {r['std']:.3f}")
                if r is not None:
                    seeds.add(r["n_seeds"])
                    scores[(len(rows), j)] = r["mean"]
            row.append(", ".join(str(s) for s in sorted(seeds)))
            rows.append(row)
    bold = frozenset()  # best per column *within* a task: columns mix tasks here
    for task in _ordered(classify["task"]):
        idx = [i for i, row in enumerate(rows) if row[0] == task]
        bold |= _best_cells({k: v for k, v in scores.items() if k[0] in idx})
    return Table(
        ["task", "source", *map(_metric_name, metrics), "seeds"],
        rows,
        bold,
        "Mean ± standard deviation over seeds. Bold: the best source per task and metric.",
    )


def _relative(value: float, ref: float | None) -> str:
    if ref is None:
        return ""
    if ref == 0 or not math.isfinite(ref):
        return " (n/a)"
    return f" ({100 * (value - ref) / ref:+.0f}%)"


def recommendation_summary(recommend: pl.DataFrame) -> Table:
    """Sources x (HR@10, NDCG@10) per protocol, segment ``all``, with change vs popularity.

    Args:
        recommend: ``source, protocol, segment, metric, value, n_users`` rows.

    Returns:
        One row per source (popularity first); columns ``HR@10 (sampled-100)``,
        ``NDCG@10 (sampled-100)``, ``HR@10 (full)``, ... for the protocols present; a cell reads
        ``0.452 (+23%)``, the relative change vs popularity.
    """
    rec = recommend.filter(
        (pl.col("segment") == "all") & pl.col("metric").is_in(list(_SUMMARY_RANKING))
    )
    protocols = _ordered(rec["protocol"])
    columns = [(p, m) for p in protocols for m in _SUMMARY_RANKING]
    value = {
        (r["source"], r["protocol"], r["metric"]): r["value"] for r in rec.iter_rows(named=True)
    }
    rows, scores = [], {}
    for i, source in enumerate(_ordered(rec["source"], RECOMMEND_REFERENCE)):
        row = [source]
        for j, (protocol, metric) in enumerate(columns, start=1):
            v = value.get((source, protocol, metric))
            if v is None:
                row.append("–")
                continue
            ref = None if source == RECOMMEND_REFERENCE else value.get(
                (RECOMMEND_REFERENCE, protocol, metric)
            )  # fmt: skip
            row.append(f"{v:.3f}{_relative(v, ref)}")
            scores[(i, j)] = v
        rows.append(row)
    return Table(
        ["source"] + [f"{_metric_name(m)} ({p})" for p, m in columns],
        rows,
        _best_cells(scores),
        "All test users. In brackets the relative change vs the "
        f"{RECOMMEND_REFERENCE} baseline. {protocol_legend(protocols)} "
        "Bold: the best source per column.",
    )


def protocol_legend(protocols: list[str]) -> str:
    """One sentence saying what each protocol name means, read from the names themselves.

    ``sampled-N``: the held-out item ranked among N sampled negatives; ``full``: among all items.
    """
    parts = []
    for p in protocols:
        sampled = re.fullmatch(r"sampled-(\d+)", p)
        if sampled:
            n = sampled.group(1)
            parts.append(f"{p}: the held-out item ranked among {n} sampled negatives")
        elif p == "full":
            parts.append("full: ranked among all items")
    return "; ".join(parts) + "." if parts else ""


def recommendation_detail(recommend: pl.DataFrame, protocol: str) -> Table:
    """Every metric for every (segment, source) of one protocol, with the number of users.

    Args:
        recommend: ``source, protocol, segment, metric, value, n_users`` rows.
        protocol: ``"sampled-N"`` (N sampled negatives) or ``"full"``.

    Returns:
        One row per (segment, source), one column per metric, then ``users``.
    """
    rec = recommend.filter(pl.col("protocol") == protocol)
    metrics = _ordered(rec["metric"])
    values = {(r["segment"], r["source"], r["metric"]): r for r in rec.iter_rows(named=True)}
    rows, bold = [], frozenset()
    for segment in _ordered(rec["segment"], "all"):
        sources = _ordered(rec.filter(pl.col("segment") == segment)["source"], RECOMMEND_REFERENCE)
        scores = {}
        for source in sources:
            row, users = [segment, source], set()
            for j, metric in enumerate(metrics, start=2):
                r = values.get((segment, source, metric))
                row.append("–" if r is None else f"{r['value']:.3f}")
                if r is not None:
                    users.add(r["n_users"])
                    scores[(len(rows), j)] = r["value"]
            row.append(", ".join(f"{u:,}" for u in sorted(users)))
            rows.append(row)
        bold |= _best_cells(scores)
    return Table(
        ["segment", "source", *map(_metric_name, metrics), "users"],
        rows,
        bold,
        f"Protocol {protocol_legend([protocol]) or protocol} "
        "Bold: the best source per segment and metric.",
    )


def _numeric_columns(table: Table) -> set[int]:
    """Columns whose filled cells all start with a number (right-aligned)."""
    return {
        j
        for j in range(len(table.header))
        if any(row[j] != "–" for row in table.rows)
        and all(row[j] == "–" or row[j][:1].isdigit() for row in table.rows)
    }


def table_html(table: Table) -> str:
    """Render as an HTML ``<table>`` (cells escaped; numbers right-aligned)."""
    numeric = _numeric_columns(table)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = []
    for i, row in enumerate(table.rows):
        cells = []
        for j, cell in enumerate(row):
            text = html.escape(cell)
            if (i, j) in table.bold:
                text = f"<b>{text}</b>"
            cls = " class='num'" if j in numeric else ""
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<p class='caption'>{html.escape(table.caption)}</p>" if table.caption else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{caption}"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def md_escape(text: str) -> str:
    """Backslash-escape Markdown syntax (``* _ [ ] < > | `` and backquote, backslash)."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def _md_cell(text: str) -> str:
    return md_escape(text)


def table_markdown(table: Table) -> str:
    """Render as a GitHub-flavoured Markdown table (best cells in ``**bold**``)."""
    numeric = _numeric_columns(table)
    lines = [
        "| " + " | ".join(_md_cell(h) for h in table.header) + " |",
        "|" + "|".join("---:" if j in numeric else "---" for j in range(len(table.header))) + "|",
    ]
    for i, row in enumerate(table.rows):
        cells = [
            f"**{_md_cell(c)}**" if (i, j) in table.bold else _md_cell(c) for j, c in enumerate(row)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if table.caption:
        lines += ["", f"*{md_escape(table.caption)}*"]
    return "\n".join(lines) + "\n"
