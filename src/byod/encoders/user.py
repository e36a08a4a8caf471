"""The user encoder: raw histories in, one L2-normalised vector per user out.

A saved model is a folder that loads without byod's training code::

    MODEL_DIR/
      user_encoder.json         config: backbone (name, fingerprint), mode, sizes, services, ...
      sequence.safetensors      sequence-encoder weights (absent in ``mean`` mode)

Modes:
    ``sequence``: the CLUE shape: cached event-text vectors -> sequence encoder. ``views`` says
        what it reads: ``services`` (each (user, service) history; a user's vector is the
        normalised mean over its services), ``timeline`` (the user's merged timeline over all
        services) or ``both`` (the mean of the two, each normalised). The feature is the pooled
        output before the projection head (``feature: pooled``), over the FULL history: a history
        longer than ``max_events`` is read in chunks of ``max_events``, pooled by event count.
    ``mean``: the zero-shot baseline: the normalised mean of the backbone vectors of all the
        user's events (no training).
    ``flat``: each history's whole text through a fine-tuned backbone (saved in the folder's
        ``backbone/``), averaged per user; see :mod:`byod.pretrain.flat`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
from safetensors.torch import load_file, save_file

from byod.atomic import atomic_path, write_json
from byod.data.serialize import SerializeConfig, serialize
from byod.encoders.backbone import (
    SentenceTransformerBackbone,
    TextBackbone,
    open_backbone,
    weights_fingerprint,
)
from byod.encoders.cache import EmbeddingCache, encode_unique
from byod.encoders.hashing import hash_keys
from byod.encoders.histories import HistoryArrays, View, collate
from byod.encoders.sequence import SequenceEncoder, SequenceEncoderConfig
from byod.errors import ByodError, ConfigError
from byod.vectors import l2_normalise

__all__ = [
    "UserEncoder",
    "UserEncoderConfig",
    "MODES",
    "VIEWS",
    "FEATURES",
    "ITEM_IDS",
    "model_hash",
]

MODES = ("sequence", "mean", "flat")
VIEWS = ("services", "timeline", "both")
ITEM_IDS = ("off", "hashed")
FEATURES = ("pooled", "projected")  # before / after the contrastive projection head
_CONFIG = "user_encoder.json"
_WEIGHTS = "sequence.safetensors"


@dataclasses.dataclass(frozen=True)
class UserEncoderConfig:
    """Everything needed to rebuild a user encoder (saved as ``user_encoder.json``)."""

    backbone: str
    backbone_fingerprint: str
    mode: str = "sequence"
    sequence: SequenceEncoderConfig | None = None
    services: tuple[str, ...] = ("<unknown>",)
    max_events: int = 64
    objective: str | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    views: str = "services"
    feature: str = "pooled"
    # How event texts were written for training (SerializeConfig.rendering()); reused for the
    # raw events of new users. None: the defaults (no time prefix, per service).
    rendering: dict[str, Any] | None = None
    # "off": items are their text alone (embeds users / items of another system); "hashed": the
    # sequence encoder adds a hashed id embedding for items seen in pretraining.
    item_ids: str = "off"

    def __post_init__(self) -> None:
        if self.item_ids not in ITEM_IDS:
            raise ByodError(f"item_ids must be one of {list(ITEM_IDS)}, got {self.item_ids!r}")
        if self.item_ids == "hashed" and not (self.sequence and self.sequence.id_buckets):
            raise ByodError("item_ids 'hashed' needs a sequence encoder with id_buckets > 0")
        if self.views not in VIEWS:
            raise ByodError(f"views must be one of {list(VIEWS)}, got {self.views!r}")
        if self.feature not in FEATURES:
            raise ByodError(f"feature must be one of {list(FEATURES)}, got {self.feature!r}")

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = dataclasses.asdict(self)
        d["format"] = "byod-user-encoder/1"
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> UserEncoderConfig:
        """Inverse of :meth:`to_json`."""
        d = dict(d)
        d.pop("saved_at", None)
        if d.pop("format", None) != "byod-user-encoder/1":
            raise ByodError(
                "not a byod user-encoder config (format 'byod-user-encoder/1' expected)"
            )
        seq = d.pop("sequence")
        return cls(
            sequence=SequenceEncoderConfig(**seq) if seq else None,
            services=tuple(d.pop("services")),
            **d,
        )


class UserEncoder:
    """Histories -> user vectors.

    Args:
        config: the encoder's config.
        backbone: the event-text backbone (its fingerprint must match the config's).
        sequence: the trained sequence encoder (``sequence`` mode).
        cache: event-text vector cache.
        device: where the sequence encoder runs.
    """

    def __init__(
        self,
        config: UserEncoderConfig,
        backbone: TextBackbone,
        sequence: SequenceEncoder | None = None,
        *,
        cache: EmbeddingCache | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        if config.mode not in MODES:
            raise ByodError(f"mode must be one of {MODES}, got {config.mode!r}")
        if config.mode == "sequence" and sequence is None:
            raise ByodError("a 'sequence' user encoder needs its sequence encoder")
        if weights_fingerprint(backbone) != config.backbone_fingerprint:
            raise ByodError(
                f"backbone {backbone.name!r} has fingerprint {weights_fingerprint(backbone)}, but "
                "the model "
                f"was trained with {config.backbone_fingerprint}; install the same backbone"
            )
        self.config = config
        self.backbone = backbone
        self.sequence = sequence.to(device).eval() if sequence is not None else None
        self.cache = cache
        self.device = torch.device(device)

    @property
    def dim(self) -> int:
        """Size of the user vectors."""
        if self.config.mode in ("mean", "flat"):
            return self.backbone.dim
        if self.config.feature == "projected":
            return self.config.sequence.out_dim
        return self.config.sequence.dim

    def arrays(self, histories: pl.DataFrame, *, progress: bool = False) -> HistoryArrays:
        """Index ``histories`` over cached event-text vectors (the model's service vocabulary)."""
        return HistoryArrays.build(
            histories,
            self.backbone,
            cache=self.cache,
            services=list(self.config.services),
            progress=progress,
        )

    @torch.no_grad()
    def encode(
        self, histories: pl.DataFrame, *, batch_size: int = 256, progress: bool = False
    ) -> pl.DataFrame:
        """Encode ``histories`` into ``user_id, vector`` rows (float32 vectors of size ``dim``)."""
        if self.config.mode == "flat":
            return self._encode_flat(histories, progress=progress)
        arrays = self.arrays(histories, progress=progress)
        vectors = self.encode_arrays(arrays, batch_size=batch_size)
        return pl.DataFrame(
            {"user_id": arrays.user_ids, "vector": vectors},
            schema={"user_id": pl.String, "vector": pl.Array(pl.Float32, self.dim)},
        )

    def _encode_flat(self, histories: pl.DataFrame, *, progress: bool) -> pl.DataFrame:
        histories = histories.sort("user_id", "service")
        per_hist = self.backbone.encode(
            histories["text"].to_list(), batch_size=16, progress=progress
        )
        per_hist = l2_normalise(per_hist)
        users, index = np.unique(histories["user_id"].to_numpy(), return_inverse=True)
        sums = np.zeros((len(users), per_hist.shape[1]), dtype=np.float32)
        np.add.at(sums, index, per_hist)
        sums = l2_normalise(sums)
        return pl.DataFrame(
            {"user_id": users.tolist(), "vector": sums},
            schema={"user_id": pl.String, "vector": pl.Array(pl.Float32, self.dim)},
        )

    def encode_events(self, events: pl.DataFrame, *, progress: bool = False) -> pl.DataFrame:
        """Serialize raw events (every event: the full history), then encode them.

        Event texts are written as the training histories were (``config.rendering``: time
        prefix, separator, per service or merged). New users need no retraining.
        """
        rendering = self.config.rendering or {}
        histories = serialize(events, SerializeConfig(max_events=None, **rendering))
        return self.encode(histories, progress=progress)

    @torch.no_grad()
    def encode_arrays(self, arrays: HistoryArrays, *, batch_size: int = 256) -> np.ndarray:
        """User vectors ``(n_users, dim)`` float32, L2-normalised, for indexed histories."""
        if self.config.mode == "mean":
            per_hist = _mean_vectors(arrays)
            return _per_user(arrays, per_hist, np.diff(arrays.offsets).astype(np.float32))
        parts = []
        if self.config.views in ("services", "both"):
            per_hist = self._pooled(arrays, _history_chunks(arrays, self._chunk), batch_size)
            parts.append(_per_user(arrays, per_hist, np.ones(arrays.n_histories, np.float32)))
        if self.config.views in ("timeline", "both"):
            parts.append(
                l2_normalise(
                    self._pooled(arrays, _timeline_chunks(arrays, self._chunk), batch_size)
                )
            )
        return l2_normalise(np.mean(parts, axis=0)).astype(np.float32)

    @property
    def _chunk(self) -> int:
        return self.config.sequence.max_events

    def _pooled(self, arrays: HistoryArrays, chunks: _Chunks, batch_size: int) -> np.ndarray:
        """Encode every chunk; each owner's vector is its chunks' mean weighted by length."""
        owners, views = chunks
        table = torch.from_numpy(arrays.vectors).to(self.device)
        ids = self._ids(arrays)
        feats = np.zeros((len(views), self.dim), dtype=np.float32)
        # Batches of similar lengths: padding costs attention time for nothing.
        order = np.argsort([len(v.events) for v in views], kind="stable")
        for start in range(0, len(views), batch_size):
            idx = order[start : start + batch_size]
            b = collate([views[i] for i in idx]).to(self.device)
            fn = self.sequence if self.config.feature == "projected" else self.sequence.pool
            ev_ids = ids[b.events] if ids is not None else None
            feats[idx] = (
                fn(table[b.events], b.mask, b.recency, b.service, ev_ids).float().cpu().numpy()
            )
        n_owners = int(owners.max()) + 1 if len(owners) else 0
        weights = np.array([len(v.events) for v in views], dtype=np.float32)
        out = np.zeros((n_owners, self.dim), dtype=np.float32)
        np.add.at(out, owners, feats * weights[:, None])
        total = np.zeros(n_owners, dtype=np.float32)
        np.add.at(total, owners, weights)
        return out / np.maximum(total, 1.0)[:, None]

    def _ids(self, arrays: HistoryArrays) -> torch.Tensor | None:
        """Id bucket per event text ``(T,)`` (-1: unseen) when ``item_ids`` is ``hashed``."""
        if self.config.item_ids != "hashed":
            return None
        return self.sequence.item_ids(torch.from_numpy(arrays.item_keys()).to(self.device))

    @property
    def scores_next_items(self) -> bool:
        """Whether this model scores next items itself (trained with ``next-item``)."""
        return self.sequence is not None and self.sequence.config.causal

    def _check_next_item(self) -> None:
        if not self.scores_next_items:
            raise ByodError(
                "this model cannot score next items: it was not trained with the 'next-item' "
                "objective (pretrain with e.g. objective 'next-item:1,clue:0.5')"
            )

    def _service_index(self, service: str | None) -> torch.Tensor | None:
        """The model's index of ``service`` as a query (None: not said)."""
        if service is None:
            return None
        if service not in self.config.services[1:]:
            raise ConfigError(
                f"service {service!r} is not one this model was trained on; "
                f"it knows {list(self.config.services[1:])}"
            )
        return torch.tensor(self.config.services.index(service), device=self.device)

    @torch.no_grad()
    def user_states(
        self, arrays: HistoryArrays, *, service: str | None = None, batch_size: int = 256
    ) -> np.ndarray:
        """Next-item queries ``(n_users, dim)``: the causal state after each user's last event.

        Reads the last ``max_events`` events of each user's merged timeline. ``service``: the
        service the next event is asked in, for a model trained with ``service_query`` (other
        models ignore it; None: any service).
        """
        self._check_next_item()
        asked = self._service_index(service)
        table = torch.from_numpy(arrays.vectors).to(self.device)
        ids = self._ids(arrays)
        out = np.zeros((len(arrays.user_ids), self.sequence.config.dim), dtype=np.float32)
        for start in range(0, len(arrays.user_ids), batch_size):
            users = range(start, min(start + batch_size, len(arrays.user_ids)))
            views = []
            for u in users:
                n = arrays.timeline_length(u)
                views.append(arrays.timeline(u, max(0, n - self._chunk), n))
            b = collate(views).to(self.device)
            ev_ids = ids[b.events] if ids is not None else None
            next_service = asked.expand(len(views)) if asked is not None else None
            state = self.sequence.last_state(
                table[b.events], b.mask, b.recency, b.service, ev_ids, next_service
            )
            out[start : start + len(views)] = state.float().cpu().numpy()
        return out

    @torch.no_grad()
    def item_embeddings(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Item-table rows ``(n_items, dim)`` for item texts (the keys event texts are).

        With ``item_ids: hashed`` an item seen in pretraining gets its id embedding added; any
        other item is its text alone.
        """
        self._check_next_item()
        vectors = encode_unique(texts, self.backbone, self.cache, progress=progress)
        return self.embed_item_vectors(vectors, texts)

    @torch.no_grad()
    def embed_item_vectors(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        """Item-table rows ``(n, dim)`` of items whose text vectors ``(n, input_dim)`` are known."""
        self._check_next_item()
        v = torch.from_numpy(vectors).to(self.device)
        ids = None
        if self.config.item_ids == "hashed":
            ids = self.sequence.item_ids(torch.from_numpy(hash_keys(texts)).to(self.device))
        return (
            self.sequence.embed_items(v, ids.to(self.device) if ids is not None else None)
            .float()
            .cpu()
            .numpy()
        )

    def next_item_scores(
        self,
        histories: pl.DataFrame,
        item_texts: list[str],
        *,
        service: str | None = None,
        progress: bool = False,
    ) -> tuple[list[str], np.ndarray]:
        """The model's own next-item scores: ``(user ids, (n_users, n_items))``.

        ``score(u, i) = <query after u's last event, item embedding of i>``, the dot product the
        ``next-item`` objective trains; ``histories`` must end before the target. ``service``:
        the items' service, the query of a model trained with ``service_query``.
        """
        arrays = self.arrays(histories, progress=progress)
        states = self.user_states(arrays, service=service)
        items = self.item_embeddings(item_texts, progress=progress)
        return list(arrays.user_ids), states @ items.T

    def save(self, model_dir: str | Path) -> Path:
        """Write the config and weights into ``model_dir`` (each file atomically)."""
        model_dir = Path(model_dir)
        if self.sequence is not None:
            state = {
                k: v.detach().cpu().contiguous() for k, v in self.sequence.state_dict().items()
            }
            with atomic_path(model_dir / _WEIGHTS) as tmp:
                save_file(state, str(tmp))
        cfg = self.config.to_json()
        cfg["saved_at"] = datetime.now(UTC).isoformat()
        write_json(cfg, model_dir / _CONFIG)
        return model_dir

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        *,
        backbone: TextBackbone | None = None,
        vector_cache_dir: str | Path | None = None,
        models_dir: str | Path | None = None,
        device: str = "cpu",
    ) -> UserEncoder:
        """Load a saved encoder; the backbone is opened by name (from ``models_dir``) unless given.

        ``vector_cache_dir`` is the event-text vector cache.
        """
        model_dir = Path(model_dir)
        path = model_dir / _CONFIG
        if not path.exists():
            raise ByodError(f"{model_dir}: not a byod model folder (no {_CONFIG})")
        config = UserEncoderConfig.from_json(json.loads(path.read_text(encoding="utf-8")))
        if backbone is None and config.mode == "flat":
            backbone = _flat_backbone(model_dir / config.backbone, config, device)
        backbone = backbone or open_backbone(config.backbone, models_dir=models_dir, device=device)
        sequence = None
        if config.mode == "sequence":
            sequence = SequenceEncoder(config.sequence)
            sequence.load_state_dict(load_file(str(model_dir / _WEIGHTS)))
        cache = (
            EmbeddingCache(vector_cache_dir, backbone.fingerprint, backbone.dim)
            if vector_cache_dir
            else None
        )
        return cls(config, backbone, sequence, cache=cache, device=device)


def _flat_backbone(folder: Path, config: UserEncoderConfig, device: str) -> TextBackbone:
    from byod.assets import load_backbone

    model = load_backbone(str(folder), device=device)
    return SentenceTransformerBackbone(
        model, config.backbone, prompt=config.extra.get("prompt", "")
    )


_Chunks = tuple[np.ndarray, list[View]]  # (owner index per chunk, the chunks)


def _per_user(arrays: HistoryArrays, per_hist: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted sum of history vectors ``(H, d)`` per user, L2-normalised: ``(n_users, d)``."""
    sums = np.zeros((len(arrays.user_ids), per_hist.shape[1]), dtype=np.float32)
    np.add.at(sums, arrays.hist_user, per_hist * weights[:, None])
    return l2_normalise(sums)


def _spans(n: int, size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` chunks of ``size`` covering ``0:n`` from the most recent end."""
    return [(max(0, stop - size), stop) for stop in range(n, 0, -size)] or [(0, 0)]


def _history_chunks(arrays: HistoryArrays, size: int) -> _Chunks:
    owners, views = [], []
    for h, n in enumerate(np.diff(arrays.offsets)):
        for a, b in _spans(int(n), size):
            owners.append(h)
            views.append(arrays.slice(h, a, b))
    return np.array(owners, dtype=np.int64), views


def _timeline_chunks(arrays: HistoryArrays, size: int) -> _Chunks:
    owners, views = [], []
    for u in range(len(arrays.user_ids)):
        for a, b in _spans(arrays.timeline_length(u), size):
            owners.append(u)
            views.append(arrays.timeline(u, a, b))
    return np.array(owners, dtype=np.int64), views


def _mean_vectors(arrays: HistoryArrays) -> np.ndarray:
    """Mean backbone vector per history ``(H, dim)``."""
    sums = np.add.reduceat(arrays.vectors[arrays.events], arrays.offsets[:-1], axis=0)
    counts = np.diff(arrays.offsets)[:, None]
    sums[counts[:, 0] == 0] = 0  # reduceat repeats a row for empty ranges
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def model_hash(model_dir: str | Path) -> str:
    """sha256 (first 16 hex) over a model folder's config and weights."""
    h = hashlib.sha256()
    for name in (_CONFIG, _WEIGHTS):
        path = Path(model_dir) / name
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
