"""What the endpoints compute, over one loaded :class:`Deployment` (no HTTP here).

Each function raises :class:`NotFound` / :class:`ByodError` with a message for the caller;
the routers turn those into 404 / 422 JSON errors.
"""

from __future__ import annotations

import time
from datetime import UTC

import numpy as np
import polars as pl

from byod.data.schema import EVENT_SCHEMA
from byod.errors import ByodError
from byod.serve.deployment import Deployment
from byod.serve.schemas import Event

__all__ = [
    "NotFound",
    "lookup",
    "embed_events",
    "user_vector",
    "predict",
    "recommend",
    "classify_texts",
]

_NEW_USER = "<request>"


class NotFound(ByodError):
    """An unknown user, head or classifier (HTTP 404)."""


def _users(dep: Deployment) -> None:
    """A text-only deployment has no user table or encoder: say so (404) before any lookup."""
    if dep.store is None or dep.encoder is None:
        raise NotFound(
            "this deployment serves text classifiers only (no user table); deploy a user table "
            f"for user endpoints; text classifiers: {sorted(dep.text)}"
        )


def lookup(dep: Deployment, user_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(n, dim)`` vectors and the ``(n,)`` found mask for ``user_ids``."""
    _users(dep)
    return dep.store.get_many(user_ids)


def _unknown_user(dep: Deployment, user_id: str) -> NotFound:
    return NotFound(
        f"user {user_id!r} is not in feature table {dep.version} ({len(dep.store):,} users); "
        "send the user's raw events instead (POST /v1/users/embed, or `events` in this body)"
    )


def embed_events(dep: Deployment, events: list[Event]) -> np.ndarray:
    """The ``(dim,)`` vector of a new user from raw events (serialized as in training)."""
    _users(dep)
    frame = pl.DataFrame(
        {
            "user_id": [_NEW_USER] * len(events),
            "timestamp": [
                e.timestamp if e.timestamp.tzinfo else e.timestamp.replace(tzinfo=UTC)
                for e in events
            ],
            "service": [e.service for e in events],
            "text": [e.text for e in events],
            "item_id": [e.item_id for e in events],
            "seq": list(range(len(events))),
        },
        schema=EVENT_SCHEMA,
    )
    return np.asarray(dep.encoder.encode_events(frame)["vector"].to_numpy()[0], np.float32)


def user_vector(
    dep: Deployment, user_id: str | None, events: list[Event] | None
) -> tuple[np.ndarray, str]:
    """The user's vector and where it came from (``table`` or ``events``)."""
    if events is not None:
        return embed_events(dep, events), "events"
    vectors, found = lookup(dep, [user_id])
    if not found[0]:
        raise _unknown_user(dep, user_id)
    return vectors[0], "table"


def predict(dep: Deployment, name: str, vector: np.ndarray) -> dict[str, float]:
    """Class probabilities of head ``name`` for one user vector."""
    head = dep.classify.get(name)
    if head is None:
        raise NotFound(f"no classification head {name!r}; deployed heads: {sorted(dep.classify)}")
    proba = head.predict_proba(vector[None])[0]
    return {c: float(p) for c, p in zip(head.classes, proba, strict=True)}


def _seen_items(dep: Deployment, user_id: str | None, events: list[Event] | None) -> np.ndarray:
    """Item indices the user interacted with, oldest first (unknown item ids are skipped)."""
    if events is None:
        return dep.items.seen.get(user_id, np.zeros(0, dtype=np.int64))
    where = {item: i for i, item in enumerate(dep.items.ids)}
    ordered = sorted(events, key=lambda e: e.timestamp.timestamp() if e.timestamp.tzinfo else
                     e.timestamp.replace(tzinfo=UTC).timestamp())  # fmt: skip
    return np.array([where[e.item_id] for e in ordered if e.item_id in where], dtype=np.int64)


def _recommend_head(dep: Deployment, name: str | None):  # noqa: ANN202
    if not dep.recommend or dep.items is None:
        raise NotFound("this deployment has no recommendation head (deploy with --interactions)")
    if name is None:
        if len(dep.recommend) > 1:
            raise ByodError(f"several recommendation heads; name one of {sorted(dep.recommend)}")
        return next(iter(dep.recommend.values()))
    if name not in dep.recommend:
        raise NotFound(f"no recommendation head {name!r}; deployed: {sorted(dep.recommend)}")
    return dep.recommend[name]


def recommend(
    dep: Deployment,
    *,
    user_id: str | None,
    events: list[Event] | None,
    k: int,
    exclude_seen: bool,
    head_name: str | None = None,
    n_candidates: int = 100,
) -> dict:
    """ANN candidates from the item index, re-ranked by the head; per-stage timings in ms."""
    t0 = time.perf_counter()
    head = _recommend_head(dep, head_name)
    vector, source = user_vector(dep, user_id, events)
    seen = _seen_items(dep, user_id, events)
    x = vector[None]
    if head.config.last_item:
        # The head was trained with the text vector of the interaction before the target;
        # a user with no known interaction gets zeros there, as in training.
        prev = dep.items.vectors[seen[-1]] if len(seen) else np.zeros(dep.items.vectors.shape[1])
        x = np.concatenate([x, prev[None].astype(np.float32)], axis=1)
    t1 = time.perf_counter()
    query = head.retrieval_query(x)
    extra = len(seen) if exclude_seen else 0
    want = min(max(n_candidates, k) + extra, dep.items.index.ntotal)
    _, cand = dep.items.index.search(np.ascontiguousarray(query, np.float32), want)
    cand = cand[0][cand[0] >= 0]
    if exclude_seen and len(seen):
        cand = cand[~np.isin(cand, seen)]
    t2 = time.perf_counter()
    scores = head.score(x, cand[None].astype(np.int64))[0] if len(cand) else np.zeros(0)
    top = np.argsort(-scores, kind="stable")[:k]
    t3 = time.perf_counter()
    return {
        "user_source": source,
        "items": [{"item_id": dep.items.ids[int(cand[i])], "score": float(scores[i])} for i in top],
        "n_candidates": int(len(cand)),
        "timings_ms": {
            "features": (t1 - t0) * 1e3,
            "ann": (t2 - t1) * 1e3,
            "rerank": (t3 - t2) * 1e3,
            "total": (t3 - t0) * 1e3,
        },
    }


def classify_texts(dep: Deployment, name: str, texts: list[str]) -> list[dict]:
    """Label and class probabilities per text with the text classifier ``name``."""
    from byod.textlab.hypermatch import encode_texts

    clf = dep.text.get(name)
    if clf is None:
        raise NotFound(f"no text classifier {name!r}; deployed: {sorted(dep.text)}")
    proba = clf.head.predict_proba(encode_texts(texts, clf.backbone))
    classes = [str(c) for c in clf.head.classes_]
    return [
        {
            "label": classes[int(p.argmax())],
            "probabilities": {c: float(v) for c, v in zip(classes, p, strict=True)},
        }
        for p in proba
    ]
