"""Named feature blocks beside the learned user vector.

A feature table can carry, per user, several blocks that downstream heads concatenate (or pick
from) and scale each in its own way:

- ``learned``: the user encoder's vector (the table's ``vector`` column);
- ``zero-shot``: the mean of the backbone's event-text vectors over the user's **full** history,
  PCA-whitened (raw sentence vectors are anisotropic: a few directions carry most variance);
- ``svd``: a low-rank bag of items: truncated SVD of the L2-normalised TF-IDF user x item
  matrix, the vocabulary, IDF and SVD fitted on the ``fit_events`` (training side) only;
- ``aggregates``: generic counts from the event contract: events in total and per service,
  share per service, active span, events per active day, recency, distinct-item share.

Each block is a ``(n_users, dim)`` float32 matrix in the order of ``user_ids``;
:class:`BlockLayout` records names, offsets into the concatenation, dims and the scaling a head
should apply (``block``: one scalar per block; ``column``: standardise each column).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from scipy import sparse

from byod.errors import ByodError, ConfigError
from byod.features.bag import user_item_matrix

if TYPE_CHECKING:  # the encoders pull in torch; the feature table must not need it
    from byod.encoders.backbone import TextBackbone
    from byod.encoders.cache import EmbeddingCache

__all__ = [
    "BLOCK_NAMES",
    "Block",
    "BlockLayout",
    "text_mean_block",
    "svd_block",
    "aggregate_block",
    "parse_blocks",
    "compute_blocks",
    "DEFAULT_BLOCKS",
]

BLOCK_NAMES = ("learned", "zero-shot", "svd", "aggregates")
# How a head scales each kind of block (see byod.transfer.heads.BlockScaler).
BLOCK_SCALING = {"learned": "block", "zero-shot": "block", "svd": "block", "aggregates": "column"}
_US_PER_DAY = 86_400 * 1_000_000


@dataclasses.dataclass(frozen=True)
class Block:
    """One block: columns ``[offset, offset + dim)`` of the concatenated features.

    Attributes:
        name: block name (``learned``, ``zero-shot``, ``svd``, ``aggregates``).
        column: the feature-table column holding it.
        offset: first column in the concatenation.
        dim: number of columns.
        scaling: how a head scales it: ``block`` | ``column`` | ``none``.
        columns: names of the block's columns, when they have meanings (aggregates).
    """

    name: str
    column: str
    offset: int
    dim: int
    scaling: str
    columns: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The metadata.json entry."""
        out = dataclasses.asdict(self)
        out["columns"] = list(self.columns)
        return out


@dataclasses.dataclass(frozen=True)
class BlockLayout:
    """The blocks of a concatenated feature matrix, in column order."""

    blocks: tuple[Block, ...]

    @classmethod
    def build(cls, parts: Sequence[tuple[str, str, int, tuple[str, ...]]]) -> BlockLayout:
        """Layout from ``(name, column, dim, column_names)`` in order; offsets accumulate."""
        blocks, offset = [], 0
        for name, column, dim, names in parts:
            blocks.append(Block(name, column, offset, dim, BLOCK_SCALING.get(name, "block"), names))
            offset += dim
        return cls(tuple(blocks))

    @classmethod
    def from_json(cls, entries: list[dict[str, Any]]) -> BlockLayout:
        """Read the ``blocks`` list of a metadata.json."""
        return cls(tuple(Block(**{**e, "columns": tuple(e.get("columns", ()))}) for e in entries))

    @property
    def dim(self) -> int:
        """Columns in total."""
        return sum(b.dim for b in self.blocks)

    @property
    def names(self) -> list[str]:
        """Block names in order."""
        return [b.name for b in self.blocks]

    def spec(self) -> tuple[tuple[int, int, str], ...]:
        """``((offset, dim, scaling), ...)`` for :class:`byod.transfer.heads.BlockScaler`."""
        return tuple((b.offset, b.dim, b.scaling) for b in self.blocks)

    def select(self, names: Sequence[str]) -> BlockLayout:
        """The layout of the named blocks concatenated in the order given (offsets rebased)."""
        have = {b.name: b for b in self.blocks}
        missing = [n for n in names if n not in have]
        if missing:
            raise ConfigError(f"unknown block(s) {missing}; this feature table has {self.names}")
        if len(set(names)) != len(names):
            raise ConfigError(f"a block is named twice in {list(names)}")
        parts = [(n, have[n].column, have[n].dim, have[n].columns) for n in names]
        return BlockLayout.build(parts)


def parse_blocks(text: str | None) -> list[str] | None:
    """``"learned,svd"`` -> ``["learned", "svd"]`` (None stays None); names are checked."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BLOCK_NAMES]
    if not names or unknown:
        raise ConfigError(
            f"--blocks takes a comma-separated subset of {list(BLOCK_NAMES)}, got {text!r}"
        )
    return names


def _rows(user_ids: Sequence[str]) -> pl.DataFrame:
    return pl.DataFrame({"user_id": list(user_ids), "_row": np.arange(len(user_ids))})


def text_mean_block(
    events: pl.DataFrame,
    user_ids: Sequence[str],
    backbone: TextBackbone,
    cache: EmbeddingCache | None = None,
    *,
    whiten: bool = True,
    state: dict[str, np.ndarray] | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Mean event-text vector over each user's full history, whitened: ``(n_users, dim)``.

    The whitening (PCA, all components, unit variance each) is fitted on the users with events
    (label-free; it removes the few dominant directions that raw MiniLM means share), or taken
    from ``state`` (a previous fit, so new users land in the same space). A fit is written into
    ``state`` when one is given empty. Users without events get zeros.
    """
    from sklearn.decomposition import PCA

    from byod.encoders.cache import encode_unique

    texts = events["text"].unique(maintain_order=True)
    vectors = encode_unique(texts.to_list(), backbone, cache, progress=progress)
    codes = pl.DataFrame({"text": texts, "_t": np.arange(len(texts))})
    pairs = events.select("user_id", "text").join(codes, on="text")
    pairs = pairs.join(_rows(user_ids), on="user_id")
    out = np.zeros((len(user_ids), backbone.dim), dtype=np.float64)
    np.add.at(out, pairs["_row"].to_numpy(), vectors[pairs["_t"].to_numpy()])
    counts = np.bincount(pairs["_row"].to_numpy(), minlength=len(user_ids))
    have = counts > 0
    out[have] /= counts[have, None]
    if not whiten:
        return out.astype(np.float32)
    if state is not None and "zero-shot/mean" in state:
        mean, comps, scale = (state[f"zero-shot/{k}"] for k in ("mean", "components", "scale"))
    elif have.sum() > 1:
        pca = PCA(n_components=min(int(have.sum()), out.shape[1]), random_state=0).fit(out[have])
        mean, comps = pca.mean_, pca.components_
        scale = np.sqrt(np.maximum(pca.explained_variance_, 1e-12))
        if state is not None:
            state.update({"zero-shot/mean": mean, "zero-shot/components": comps,
                          "zero-shot/scale": scale})  # fmt: skip
    else:
        return out.astype(np.float32)
    # fewer users than dimensions: the missing components stay 0 (the block keeps its size)
    white = np.zeros_like(out)
    white[have, : len(comps)] = (out[have] - mean) @ comps.T / scale
    return white.astype(np.float32)


def _fit_svd(fit_events: pl.DataFrame, dim: int, column: str, seed: int) -> dict[str, np.ndarray]:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfTransformer

    items = fit_events[column].drop_nulls().unique().sort()
    if items.len() < 3:
        raise ByodError(f"the svd block needs events with at least 3 distinct {column} values")
    fit_users = fit_events["user_id"].unique().sort().to_list()
    counts, _ = user_item_matrix(fit_events, fit_users, column=column, items=items.to_list())
    tfidf = TfidfTransformer().fit(counts)
    k = min(dim, items.len() - 1, counts.shape[0] - 1)
    svd = TruncatedSVD(n_components=max(k, 1), random_state=seed).fit(tfidf.transform(counts))
    return {"svd/items": items.to_numpy().astype(str), "svd/idf": tfidf.idf_,
            "svd/components": svd.components_}  # fmt: skip


def svd_block(
    events: pl.DataFrame,
    user_ids: Sequence[str],
    *,
    fit_events: pl.DataFrame | None = None,
    dim: int = 128,
    column: str = "item_id",
    seed: int = 0,
    state: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Truncated SVD of the L2 TF-IDF user x item matrix: ``(n_users, dim)``.

    Args:
        events: whose items make each user's row.
        user_ids: the rows, in order.
        fit_events: the vocabulary, IDF and SVD are fitted on these events only (the training
            side, e.g. events before every validation target); default ``events``.
        dim: components (capped below the vocabulary size; the block is zero-padded to ``dim``).
        column: the item column.
        seed: the randomised SVD's seed.
        state: a previous fit to apply (``svd/*`` keys); an empty dict receives this fit.
    """
    if state is not None and "svd/items" in state:
        fitted = state
    else:
        fitted = _fit_svd(events if fit_events is None else fit_events, dim, column, seed)
        if state is not None:
            state.update(fitted)
    items = [str(i) for i in fitted["svd/items"]]
    counts, _ = user_item_matrix(events, user_ids, column=column, items=items)
    bag = counts.multiply(fitted["svd/idf"][None, :]).tocsr()
    norms = np.sqrt(np.asarray(bag.multiply(bag).sum(axis=1))).ravel()
    bag = sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ bag  # L2 rows, as TfidfTransformer
    out = np.asarray(bag @ fitted["svd/components"].T)
    if out.shape[1] < dim:  # tiny data: pad, so the block always has the promised size
        out = np.pad(out, ((0, 0), (0, dim - out.shape[1])))
    return out[:, :dim].astype(np.float32)


def aggregate_block(
    events: pl.DataFrame,
    user_ids: Sequence[str],
    *,
    services: Sequence[str] | None = None,
    reference_time: Any | None = None,
    state: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Generic per-user aggregates of the event contract: ``(n_users, k)`` and column names.

    Columns: ``log_events``; per service ``log_events:<s>`` and ``share:<s>``; ``log_span_days``
    (first to last event); ``log_events_per_day`` (per active day: distinct calendar dates);
    ``log_recency_days`` (last event to ``reference_time``, default the latest event in
    ``events``); ``distinct_item_share``. Counts are log1p'd (heavy-tailed). The services are
    taken from ``state`` when it holds them (new users get the same columns), else from
    ``events``, and written into ``state``.
    """
    if services is None and state is not None and "aggregates/services" in state:
        services = [str(x) for x in state["aggregates/services"]]
    services = sorted(events["service"].unique().to_list()) if services is None else services
    if state is not None:
        state["aggregates/services"] = np.asarray(list(services), dtype=str)
    ref = events["timestamp"].max() if reference_time is None else reference_time
    per_user = events.group_by("user_id").agg(
        n=pl.len(),
        first=pl.col("timestamp").min(),
        last=pl.col("timestamp").max(),
        days=pl.col("timestamp").dt.date().n_unique(),
        items=pl.col("item_id").drop_nulls().n_unique(),
        with_item=pl.col("item_id").is_not_null().sum(),
        **{f"s{i}": (pl.col("service") == s).sum() for i, s in enumerate(services)},
    )
    df = _rows(user_ids).join(per_user, on="user_id", how="left").sort("_row")
    n = df["n"].fill_null(0).to_numpy().astype(np.float64)
    span = ((df["last"] - df["first"]).dt.total_microseconds() / _US_PER_DAY).fill_null(0)
    rec = df.select(r=(pl.lit(ref) - pl.col("last")).dt.total_microseconds() / _US_PER_DAY)
    cols: dict[str, np.ndarray] = {"log_events": np.log1p(n)}
    for i, s in enumerate(services):
        c = df[f"s{i}"].fill_null(0).to_numpy().astype(np.float64)
        cols[f"log_events:{s}"] = np.log1p(c)
        cols[f"share:{s}"] = c / np.maximum(n, 1)
    cols["log_span_days"] = np.log1p(np.maximum(span.to_numpy(), 0))
    days = df["days"].fill_null(0).to_numpy().astype(np.float64)
    cols["log_events_per_day"] = np.log1p(n / np.maximum(days, 1))
    cols["log_recency_days"] = np.log1p(np.maximum(rec["r"].fill_null(0).to_numpy(), 0))
    with_item = df["with_item"].fill_null(0).to_numpy().astype(np.float64)
    cols["distinct_item_share"] = df["items"].fill_null(0).to_numpy() / np.maximum(with_item, 1)
    return np.stack(list(cols.values()), axis=1).astype(np.float32), tuple(cols)


# The learned vector plus the blocks that measured best on MovieLens-1M for their cost
# (docs/benchmarks.md, "Feature blocks"): the SVD bag of items carries most of the signal; the
# whitened zero-shot mean was weaker alone (0.807 gender AUROC vs svd 0.848) and costs 384 dims.
DEFAULT_BLOCKS = ("learned", "svd", "aggregates")


def compute_blocks(
    events: pl.DataFrame,
    user_ids: Sequence[str],
    names: Sequence[str],
    *,
    backbone: TextBackbone | None = None,
    cache: EmbeddingCache | None = None,
    fit_events: pl.DataFrame | None = None,
    svd_dim: int = 128,
    state: dict[str, np.ndarray] | None = None,
    progress: bool = False,
) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """The extra blocks ``names`` (``learned`` is skipped: the encoder writes it) for ``user_ids``.

    Args:
        events: the users' events (full histories).
        user_ids: the rows, in order.
        names: the blocks wanted (from :data:`BLOCK_NAMES`).
        backbone: embeds event texts (the ``zero-shot`` block).
        cache: event-text vector cache.
        fit_events: what the SVD is fitted on (default ``events``).
        svd_dim: components of the ``svd`` block.
        progress: progress bars.
        state: the fitted transforms (whitening, SVD vocabulary / IDF / components, services):
            applied when present (``FeatureTable.block_state()`` of an earlier table: new users
            land in its space), else fitted here and written into it.

    Returns:
        ``name -> ((n_users, k) float32, column names or ())`` in the order of ``names``,
        as :func:`byod.features.table.write_feature_table` takes them.
    """
    out: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {}
    for name in names:
        if name == "learned":
            continue
        if name == "zero-shot":
            if backbone is None:
                raise ConfigError("the zero-shot block needs the backbone that embeds event texts")
            values = text_mean_block(
                events, user_ids, backbone, cache, state=state, progress=progress
            )
            out[name] = (values, ())
        elif name == "svd":
            values = svd_block(events, user_ids, fit_events=fit_events, dim=svd_dim, state=state)
            out[name] = (values, ())
        elif name == "aggregates":
            out[name] = aggregate_block(events, user_ids, state=state)
        else:
            raise ConfigError(f"unknown block {name!r}; choose from {list(BLOCK_NAMES)}")
    return out
