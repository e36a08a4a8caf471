"""Data-performance curves: a score against labels per class, and the labels a target needs.

:func:`run_curve` trains every method at every budget (2 / 4 / 8 / ... labels per class) over
several seeds on class-balanced samples and scores a fixed test set (accuracy, macro-F1 and
balanced accuracy, :mod:`byod.textlab.metrics`); :func:`labels_needed` reads the smallest budget
whose mean score reaches a target, interpolating linearly in log2(labels) between measured
budgets (never extrapolating: beyond the largest budget it says so). :func:`curve_report` writes
an HTML page (and its Markdown twin) with the plot and tables, on the headline metric.
:func:`curve_methods` builds the two methods every curve compares (supervised logistic regression
on frozen vectors, and HyperMatch), shared by ``byod text curve`` and the benchmarks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.figure import Figure as PlotFigure

from byod.atomic import write_text
from byod.encoders.backbone import TextBackbone
from byod.encoders.cache import EmbeddingCache
from byod.progress import Progress
from byod.report.figures import png_bytes
from byod.report.page import Figure, Section, page_html, page_markdown
from byod.report.tables import Table
from byod.textlab.errors import TextlabError
from byod.textlab.hypermatch import HyperMatchConfig, encode_texts, fit_hypermatch
from byod.textlab.jsonl_cache import JsonlCache
from byod.textlab.llm.base import LLM
from byod.textlab.metrics import METRICS, classification_scores
from byod.textlab.prompts import TaskSpec

__all__ = [
    "Method",
    "parse_budgets",
    "supervised_predict",
    "full_supervision",
    "curve_methods",
    "sample_per_class",
    "run_curve",
    "summarize_curve",
    "labels_needed",
    "curve_figure",
    "curve_report",
]

# A method trains on (texts, labels) and returns predicted labels for the test texts.
Method = Callable[[list[str], list[str], int], np.ndarray]


def parse_budgets(text: str) -> list[int]:
    """``"2,4,8"`` → ``[2, 4, 8]``; anything but positive integers is a one-line error."""
    try:
        sizes = [int(b) for b in text.split(",") if b.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise TextlabError(f"budgets {text!r}: give labels per class as integers >= 1, e.g. 2,4,8")
    return sizes


def supervised_predict(x: np.ndarray, y: Sequence[str], x_test: np.ndarray) -> np.ndarray:
    """Logistic regression (C by cross-validation) on ``(n, dim)`` vectors; ``(n_test,)`` labels."""
    from threadpoolctl import threadpool_limits

    from byod.transfer.heads import LogisticHead

    with threadpool_limits(1):
        return LogisticHead().fit(x, np.asarray(y)).predict(x_test)


def full_supervision(
    x_pool: np.ndarray, y_pool: Sequence[str], x_test: np.ndarray, y_test: Sequence[str]
) -> dict[str, float]:
    """Scores of logistic regression on the whole ``(n_pool, dim)`` pool: the reference."""
    return classification_scores(y_test, supervised_predict(x_pool, y_pool, x_test))


def curve_methods(
    x_test: np.ndarray,
    unlabelled: Sequence[str],
    *,
    task: TaskSpec,
    backbone: TextBackbone,
    llm: LLM | None,
    config: HyperMatchConfig | None = None,
    llm_cache: JsonlCache | None = None,
    vector_cache: EmbeddingCache | None = None,
    test_texts: Sequence[str] | None = None,
) -> dict[str, Method]:
    """``supervised`` and ``hypermatch`` methods scoring the ``(n_test, dim)`` test vectors.

    With ``encoder="finetune"`` the head reads its own encoder's vectors, so HyperMatch scores
    ``test_texts`` (the texts behind ``x_test``) encoded by it; they are then required.
    """
    if config is not None and config.encoder == "finetune" and test_texts is None:
        raise TextlabError("a curve with encoder 'finetune' needs the test texts (test_texts=)")

    def supervised(texts: list[str], labels: list[str], seed: int) -> np.ndarray:
        return supervised_predict(encode_texts(texts, backbone, vector_cache), labels, x_test)

    def hypermatch(texts: list[str], labels: list[str], seed: int) -> np.ndarray:
        res = fit_hypermatch(texts, labels, unlabelled, task=task, backbone=backbone, llm=llm,
                             config=config or HyperMatchConfig(), seed=seed, llm_cache=llm_cache,
                             vector_cache=vector_cache, progress=False)  # fmt: skip
        if res.backbone is not None:
            return res.predict(list(test_texts or []))
        return res.head.predict(x_test)

    return {"supervised": supervised, "hypermatch": hypermatch}


def sample_per_class(labels: Sequence[str], per_class: int, seed: int) -> np.ndarray:
    """Indices of ``per_class`` random rows of every class (all rows of a smaller class)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        picked.append(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
    return np.sort(np.concatenate(picked))


def run_curve(
    methods: Mapping[str, Method],
    pool_texts: Sequence[str],
    pool_labels: Sequence[str],
    test_labels: Sequence[str],
    *,
    budgets: Sequence[int] = (2, 4, 8, 16, 32, 64),
    seeds: Sequence[int] = (0, 1, 2),
    progress: bool = True,
) -> pl.DataFrame:
    """Scores of every method at every budget and seed.

    Returns:
        ``method, per_class, seed, n_labels, accuracy, macro_f1, balanced_accuracy`` rows.
    """
    truth = np.asarray(test_labels)
    rows = []
    total = len(methods) * len(budgets) * len(seeds)
    bar = Progress(total, "curve", "fit", enabled=progress)
    for per_class in budgets:
        for seed in seeds:
            idx = sample_per_class(pool_labels, per_class, seed)
            texts = [pool_texts[i] for i in idx]
            labels = [pool_labels[i] for i in idx]
            for name, method in methods.items():
                pred = np.asarray(method(texts, labels, seed))
                rows.append(
                    {"method": name, "per_class": per_class, "seed": seed, "n_labels": len(idx)}
                    | classification_scores(truth, pred)
                )
                bar.update(1)
    bar.close()
    return pl.DataFrame(rows)


def summarize_curve(curve: pl.DataFrame, metric: str = "accuracy") -> pl.DataFrame:
    """Mean and std of ``metric`` per method and budget (``method, per_class, mean, std, runs``)."""
    if metric not in METRICS or metric not in curve.columns:
        raise TextlabError(f"metric {metric!r} is not in the curve; choose one of {METRICS}")
    return (
        curve.group_by("method", "per_class")
        .agg(mean=pl.col(metric).mean(), std=pl.col(metric).std(), runs=pl.len())
        .sort("method", "per_class")
    )


def labels_needed(per_class: Sequence[int], mean_acc: Sequence[float], target: float) -> float:
    """Labels per class at which accuracy first reaches ``target``.

    Linear in log2(labels) between measured budgets. Returns ``nan`` when the largest budget
    stays below the target (the curve says nothing beyond what was measured).
    """
    xs = np.log2(np.asarray(per_class, dtype=float))
    ys = np.asarray(mean_acc, dtype=float)
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    if ys[0] >= target:
        return float(2 ** xs[0])
    for i in range(1, len(xs)):
        if ys[i] >= target:
            frac = (target - ys[i - 1]) / (ys[i] - ys[i - 1])
            return float(2 ** (xs[i - 1] + frac * (xs[i] - xs[i - 1])))
    return math.nan


def curve_figure(
    summary: pl.DataFrame, *, target: float | None = None, title: str = "", metric: str = "accuracy"
) -> bytes:
    """Mean ``metric`` ± std against labels per class (log2 axis), one line per method."""
    fig = PlotFigure(figsize=(7.5, 4.4))  # no pyplot: off-screen, no global backend switch
    ax = fig.subplots()
    for name in summary["method"].unique(maintain_order=True).to_list():
        part = summary.filter(pl.col("method") == name).sort("per_class")
        x = part["per_class"].to_numpy()
        m = part["mean"].to_numpy()
        s = np.nan_to_num(part["std"].to_numpy().astype(float))
        ax.plot(x, m, marker="o", label=name)
        ax.fill_between(x, m - s, m + s, alpha=0.15)
    if target is not None:
        ax.axhline(target, color="#888", ls="--", lw=1, label=f"target {target:.3f}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel(f"test {_NAMES[metric]}")
    ax.set_title(title or "Data-performance curve (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return png_bytes(fig)


def curve_report(
    curve: pl.DataFrame,
    out_dir: str | Path,
    *,
    target: float | None = None,
    title: str = "byod text curve",
    meta: Sequence[str] = (),
    metric: str = "accuracy",
) -> Path:
    """Write ``out_dir/index.html`` + ``report.md`` + the PNG; return the HTML path.

    ``metric`` is the headline (plot, target, labels needed); the tables show all three.
    """
    out_dir = Path(out_dir)
    summary = summarize_curve(curve, metric)
    png = curve_figure(summary, target=target, metric=metric)
    name = _NAMES[metric]
    blocks: list = [
        Figure(
            "curve.png",
            png,
            f"{name} against labels per class",
            "Each point is the mean over seeds; the band is ± one standard deviation.",
        ),
        _scores_table(curve),
    ]
    if target is not None:
        blocks.append(_needed_table(summary, target))
    sections = [Section("curve", f"{_cap(name)} against labels", blocks)]
    howto = (
        f"Higher is better. The dashed line is the target {name}; 'labels needed' reads "
        "where each curve crosses it (interpolated in log scale between measured budgets). "
        "Macro-F1 and balanced accuracy sit beside accuracy: a method that drifts to the "
        "majority class keeps its accuracy on an imbalanced set but loses them."
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "curve.png").write_bytes(png)
    write_text(page_markdown(title, list(meta), howto, [], sections), out_dir / "report.md")
    return write_text(page_html(title, list(meta), howto, [], sections), out_dir / "index.html")


def _needed_table(summary: pl.DataFrame, target: float) -> Table:
    rows = []
    for name in summary["method"].unique(maintain_order=True).to_list():
        part = summary.filter(pl.col("method") == name).sort("per_class")
        need = labels_needed(part["per_class"].to_list(), part["mean"].to_list(), target)
        top = int(part["per_class"].max())
        rows.append([name, f"> {top} (not reached)" if math.isnan(need) else f"{need:.1f}"])
    return Table(["method", f"labels per class to reach {target:.3f}"], rows)


_NAMES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "balanced_accuracy": "balanced accuracy"}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _scores_table(curve: pl.DataFrame) -> Table:
    """Mean ± std of every metric per method and budget."""
    summaries = [summarize_curve(curve, m) for m in METRICS]
    rows = []
    for i, r in enumerate(summaries[0].iter_rows(named=True)):
        cells = [f"{s['mean'][i]:.3f} {_fmt_pm(s['std'][i])}" for s in summaries]
        rows.append([r["method"], str(r["per_class"]), *cells, str(r["runs"])])
    return Table(["method", "labels per class", *(_NAMES[m] for m in METRICS), "runs"], rows)


def _fmt_pm(std: float | None) -> str:
    return "" if std is None or math.isnan(std) else f"± {std:.3f}"
