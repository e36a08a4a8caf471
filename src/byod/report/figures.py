"""The report's figures, drawn off-screen (Agg) and returned as PNG bytes."""

from __future__ import annotations

import io
import math

import matplotlib
import numpy as np
import polars as pl
from matplotlib.figure import Figure
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from byod.report.labels import MAX_COLOURS
from byod.vectors import l2_normalise

__all__ = ["subsample", "tsne_2d", "embedding_map", "training_curves", "png_bytes"]

DPI = 100
_UNKNOWN = "#bdbdbd"


def png_bytes(fig: Figure) -> bytes:
    """Save ``fig`` as PNG and return the bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def subsample(n: int, max_points: int, *, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n`` rows, drawn without replacement."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def tsne_2d(vectors: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """t-SNE of the L2-normalised vectors (PCA init, seeded); ``(n, d)`` -> ``(n, 2)``.

    The perplexity is 30, lowered for small ``n`` (it must stay below ``n``). It runs on one
    OpenMP thread: on a busy machine the Barnes-Hut threads spin-wait and run several times
    slower, and one thread also keeps the map identical across machines.
    """
    x = l2_normalise(np.asarray(vectors, dtype=np.float32))
    perplexity = float(min(30.0, max(1.0, (len(x) - 1) / 3)))
    tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed)
    with threadpool_limits(limits=1, user_api="openmp"):
        return tsne.fit_transform(x)


def _label_panel(ax: object, xy: np.ndarray, values: np.ndarray, name: str, size: float) -> None:
    """Scatter ``xy`` coloured by the label ``values`` (the most frequent ones, then other)."""
    counts: dict[str, int] = {}
    for v in values:
        if v is not None:
            counts[v] = counts.get(v, 0) + 1
    top = sorted(counts, key=lambda v: (-counts[v], v))[:MAX_COLOURS]
    cmap = matplotlib.colormaps["tab10"]
    groups = [(v, cmap(i % cmap.N), v) for i, v in enumerate(sorted(top))]
    other = np.array([v is not None and v not in top for v in values], dtype=bool)
    unknown = np.array([v is None for v in values], dtype=bool)
    for value, colour, label in groups:
        mask = values == value
        ax.scatter(xy[mask, 0], xy[mask, 1], s=size, color=colour, alpha=0.8, linewidths=0,
                   label=label)  # fmt: skip
    for mask, label in ((other, "other"), (unknown, "unknown")):
        if mask.any():
            ax.scatter(xy[mask, 0], xy[mask, 1], s=size, color=_UNKNOWN, alpha=0.6,
                       linewidths=0, label=label)  # fmt: skip
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=4, fontsize=8,
              frameon=False, markerscale=1.5)  # fmt: skip
    ax.set_title(f"Users by {name}")


def _cluster_panel(ax: object, xy: np.ndarray, clusters: np.ndarray, size: float) -> None:
    k = int(clusters.max()) + 1
    cmap = matplotlib.colormaps["tab10" if k <= 10 else "tab20"]
    ax.scatter(xy[:, 0], xy[:, 1], s=size, c=[cmap(c % cmap.N) for c in clusters], alpha=0.6,
               linewidths=0)  # fmt: skip
    for c in range(k):
        members = clusters == c
        if members.any():
            cx, cy = np.median(xy[members], axis=0)
            ax.annotate(
                str(c + 1), (cx, cy), ha="center", va="center", fontsize=11,
                fontweight="bold", bbox={"boxstyle": "circle", "fc": "white", "alpha": 0.8},
            )  # fmt: skip
    ax.set_title("Users by k-means cluster (numbers as in the table)")


def embedding_map(
    xy: np.ndarray,
    colour: np.ndarray | None,
    colour_name: str | None,
    clusters: np.ndarray | None,
) -> bytes:
    """Scatter the 2-D map by a label column and, beside it, by k-means cluster.

    Args:
        xy: ``(n, 2)`` map coordinates.
        colour: ``(n,)`` object array of labels (None where unknown) to colour by, or None for
            no label panel (a run without labels).
        colour_name: the label column's name, for the title.
        clusters: ``(n,)`` cluster ids (0-based; shown 1-based), or None for no cluster panel.

    Returns:
        PNG bytes.
    """
    panels = [
        p for p, on in (("label", colour is not None), ("cluster", clusters is not None)) if on
    ]
    # A bare Figure (no pyplot): drawn off-screen with no global backend switch, freed with it.
    fig = Figure(figsize=(6.5 * max(len(panels), 1), 6.0))
    axes = fig.subplots(1, max(len(panels), 1), squeeze=False).ravel()
    size = float(np.clip(15000 / max(len(xy), 1), 7, 36))
    if not panels:
        axes[0].scatter(xy[:, 0], xy[:, 1], s=size, color=_UNKNOWN, linewidths=0)
        axes[0].set_title("Users")
    for ax, panel in zip(axes, panels, strict=False):
        if panel == "label":
            _label_panel(ax, xy, colour, colour_name or "label", size)
        else:
            _cluster_panel(ax, xy, clusters, size)
    for a in axes:
        a.set_xticks([])
        a.set_yticks([])
        a.set_xlabel("t-SNE 1", labelpad=2)
        a.set_ylabel("t-SNE 2")
    fig.tight_layout()
    return png_bytes(fig)


def training_curves(curves: dict[str, pl.DataFrame]) -> bytes:
    """Train (solid) and validation (dashed) loss per epoch, one colour per model.

    Args:
        curves: model name -> ``epoch, train_loss, val_loss`` rows.

    Returns:
        PNG bytes.
    """
    fig = Figure(figsize=(7.5, 4.2))
    ax = fig.subplots()
    cmap = matplotlib.colormaps["tab10"]
    for i, (name, df) in enumerate(sorted(curves.items())):
        colour = cmap(i % cmap.N)
        epochs = df["epoch"].to_numpy()
        for column, style, what in (("train_loss", "-", "train"), ("val_loss", "--", "val")):
            loss = df[column].to_numpy().astype(float)
            keep = np.isfinite(loss)
            if keep.any():
                ax.plot(epochs[keep], loss[keep], style, marker="o", ms=3, color=colour,
                        label=f"{name} ({what})")  # fmt: skip
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Pretraining loss (solid: train, dashed: validation)")
    ax.grid(alpha=0.3)
    max_epoch = max((int(df["epoch"].max()) for df in curves.values() if df.height), default=1)
    if max_epoch <= 20:
        ax.set_xticks(range(1, max_epoch + 1))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, ncols=max(1, math.ceil(len(curves) / 6)))
    fig.tight_layout()
    return png_bytes(fig)
