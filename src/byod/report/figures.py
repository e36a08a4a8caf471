"""The report's figures, drawn off-screen (Agg) and returned as PNG bytes."""

from __future__ import annotations

import io
import math

import matplotlib
import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from byod.report.demographics import Demographics
from byod.vectors import l2_normalise

__all__ = ["subsample", "tsne_2d", "embedding_map", "training_curves", "png_bytes"]

DPI = 100
# Hue = age group; shade and marker = gender (women dark circles, men light triangles).
_AGE_SHADES = {  # group -> (dark, light)
    "<25": ("#238b45", "#a1d99b"),
    "25-44": ("#d94801", "#fdae6b"),
    "45+": ("#54278f", "#bcbddc"),
    None: ("#636363", "#bdbdbd"),
}
_GENDERS = {True: ("o", 0, "women"), False: ("^", 1, "men"), None: ("x", 0, "gender unknown")}


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


def embedding_map(xy: np.ndarray, demo: Demographics, clusters: np.ndarray | None) -> bytes:
    """Scatter the 2-D map by age group x gender and, beside it, by k-means cluster.

    Args:
        xy: ``(n, 2)`` map coordinates.
        demo: the users' labels, ``(n,)`` each.
        clusters: ``(n,)`` cluster ids (0-based; shown 1-based), or None for one panel only.

    Returns:
        PNG bytes.
    """
    panels = 1 if clusters is None else 2
    # A bare Figure (no pyplot): drawn off-screen with no global backend switch, freed with it.
    fig = Figure(figsize=(6.5 * panels, 6.0))
    axes = fig.subplots(1, panels, squeeze=False)
    ax = axes[0, 0]
    size = float(np.clip(15000 / max(len(xy), 1), 7, 36))
    handles = []
    for woman, (marker, shade, gender) in _GENDERS.items():
        for group, colours in _AGE_SHADES.items():
            mask = (demo.woman == woman) & (demo.age_group == group)
            if not mask.any():
                continue
            colour = colours[shade]
            ax.scatter(
                xy[mask, 0], xy[mask, 1], s=size, c=colour, marker=marker, alpha=0.8,
                linewidths=0.8 if marker == "x" else 0,
            )  # fmt: skip
            label = f"{gender}, age {group or 'unknown'}"
            handles.append(Line2D([], [], ls="", marker=marker, color=colour, label=label))
    ax.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=3, fontsize=8,
        frameon=False,
    )  # fmt: skip
    ax.set_title("Users by age group (colour) and gender (shade, marker)")
    if clusters is not None:
        ax2 = axes[0, 1]
        k = int(clusters.max()) + 1
        cmap = matplotlib.colormaps["tab10" if k <= 10 else "tab20"]
        ax2.scatter(xy[:, 0], xy[:, 1], s=size, c=[cmap(c % cmap.N) for c in clusters], alpha=0.6,
                    linewidths=0)  # fmt: skip
        for c in range(k):
            members = clusters == c
            if members.any():
                cx, cy = np.median(xy[members], axis=0)
                ax2.annotate(
                    str(c + 1), (cx, cy), ha="center", va="center", fontsize=11,
                    fontweight="bold", bbox={"boxstyle": "circle", "fc": "white", "alpha": 0.8},
                )  # fmt: skip
        ax2.set_title("Users by k-means cluster (numbers as in the table)")
    for a in axes.ravel():
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
