"""Synthetic service logs at any scale: users x services x events with realistic text.

Each service has a catalogue of items whose titles are drawn from word lists (``"Compact Steel
Blender"``, ``"Weekend guide to jazz"``); each user has a taste (two favourite categories) and a
mix over the services, so the same user shows up in several services and their events say
something about them (what ``clue`` learns from). Rows are generated in chunks of users and
written chunk by chunk (bounded memory at 10^7 events), one Parquet log per service in that
service's own columns, plus the ``ingest.yaml`` that maps them onto the event contract. A small
share of rows is broken on purpose (empty user, missing time, exact duplicate) so ingestion's
``read = accepted + rejected + duplicates`` has something to count. Same seed, same bytes.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from byod.atomic import atomic_path, write_text
from byod.errors import ConfigError

__all__ = ["SynthConfig", "SERVICES", "synth_logs"]

_ADJECTIVES = (
    "compact", "classic", "wireless", "organic", "vintage", "smart", "portable", "deluxe",
    "minimal", "rugged", "silent", "golden", "urban", "cozy", "rapid", "bright", "hidden",
    "modern", "wild", "gentle",
)  # fmt: skip
_CATEGORIES: dict[str, tuple[str, ...]] = {
    "kitchen": ("blender", "kettle", "knife set", "toaster", "pan", "coffee grinder"),
    "outdoor": ("tent", "backpack", "hiking boots", "lantern", "sleeping bag", "compass"),
    "books": ("novel", "cookbook", "atlas", "biography", "poetry collection", "thriller"),
    "music": ("jazz", "hip hop", "piano", "k-pop", "lo-fi", "orchestra"),
    "sports": ("football", "yoga", "cycling", "tennis", "marathon", "climbing"),
    "tech": ("laptop", "headphones", "keyboard", "monitor", "smartwatch", "router"),
    "travel": ("seoul", "lisbon", "kyoto", "new york", "iceland", "bali"),
    "fashion": ("sneakers", "jacket", "scarf", "sunglasses", "dress", "watch"),
}
_CATS = tuple(_CATEGORIES)


@dataclasses.dataclass(frozen=True)
class _Service:
    """How one service writes its log: the columns and the ingest template over them."""

    text: str
    columns: tuple[str, ...]  # besides user, ts, item_id


SERVICES: dict[str, _Service] = {
    "shopping": _Service("{title} | {category} | {price} KRW", ("title", "category", "price")),
    "search": _Service("search: {query}", ("query",)),
    "news": _Service("read: {headline} ({section})", ("headline", "section")),
    "video": _Service("watched {title} | {genre} | {minutes} min", ("title", "genre", "minutes")),
    "music": _Service("played {track} by {artist} | {genre}", ("track", "artist", "genre")),
    "reviews": _Service("review {stars}/5: {title}", ("stars", "title")),
}


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """What to generate.

    Attributes:
        users: number of users.
        events_per_user: events per user, over all services (the log has ``users x this`` rows
            before the broken and duplicated ones are added).
        services: how many services (the first ``services`` of :data:`SERVICES`).
        items_per_service: catalogue size per service (distinct event texts grow with it).
        dirty: share of rows broken on purpose (half empty user or time, half duplicates).
        seed: everything random derives from it.
        chunk_users: users generated and written at once (memory).
    """

    users: int
    events_per_user: int
    services: int = 3
    items_per_service: int = 2000
    dirty: float = 0.001
    seed: int = 0
    chunk_users: int = 20_000

    def __post_init__(self) -> None:
        if self.users < 1 or self.events_per_user < 1:
            raise ConfigError("--users and --events-per-user must be at least 1")
        if not 1 <= self.services <= len(SERVICES):
            raise ConfigError(f"--services must be from 1 to {len(SERVICES)}, got {self.services}")
        if not 0 <= self.dirty < 0.5:
            raise ConfigError(f"--dirty must be in [0, 0.5), got {self.dirty}")


def synth_logs(config: SynthConfig, out_dir: str | Path) -> Path:
    """Write ``out_dir/logs/<service>.parquet`` and ``out_dir/ingest.yaml``; return the YAML."""
    out_dir = Path(out_dir)
    names = list(SERVICES)[: config.services]
    catalogues = {s: _catalogue(s, config, k) for k, s in enumerate(names)}
    with contextlib.ExitStack() as stack:
        writers: dict[str, pq.ParquetWriter] = {}
        for start in range(0, config.users, config.chunk_users):
            stop = min(config.users, start + config.chunk_users)
            rng = np.random.default_rng([config.seed, start])
            for name, table in _chunk(config, names, catalogues, start, stop, rng).items():
                if name not in writers:
                    tmp = stack.enter_context(atomic_path(out_dir / "logs" / f"{name}.parquet"))
                    writers[name] = stack.enter_context(
                        pq.ParquetWriter(tmp, table.schema, compression="zstd")
                    )
                writers[name].write_table(table, row_group_size=100_000)
    return _write_config(out_dir, names)


def _catalogue(service: str, config: SynthConfig, k: int) -> dict[str, np.ndarray]:
    """Items of one service: category index and the text columns (``(n_items,)`` arrays)."""
    rng = np.random.default_rng([config.seed, 10_000 + k])
    n = config.items_per_service
    cat = rng.integers(0, len(_CATS), n)
    adj = np.array(_ADJECTIVES)[rng.integers(0, len(_ADJECTIVES), n)]
    which = rng.integers(0, 6, n)
    noun = np.array([_CATEGORIES[_CATS[c]][j] for c, j in zip(cat, which, strict=True)])
    serial = rng.integers(1, 999, n)
    title = np.char.add(np.char.add(np.char.title(adj), " "), np.char.title(noun))
    title = np.char.add(np.char.add(title, " "), serial.astype(str))
    cats = np.array(_CATS)[cat]
    columns = {
        "title": title,
        "category": cats,
        "price": (rng.integers(1, 500, n) * 100).astype(str),
        "query": np.char.add(np.char.add(adj, " "), noun),
        "headline": np.char.add(np.char.add(np.char.title(noun), ": the "), adj) + " guide",
        "section": cats,
        "genre": cats,
        "minutes": rng.integers(3, 150, n).astype(str),
        "track": title,
        "artist": np.char.add("The ", np.char.title(np.array(_ADJECTIVES)[serial % 20])),
        "stars": rng.integers(1, 6, n).astype(str),
    }
    return {"category": cat, **{c: columns[c] for c in SERVICES[service].columns}}


def _chunk(
    config: SynthConfig,
    names: list[str],
    catalogues: dict[str, dict[str, np.ndarray]],
    start: int,
    stop: int,
    rng: np.random.Generator,
) -> dict[str, pa.Table]:
    """The rows of users ``start:stop``, one Arrow table per service."""
    n_users, m = stop - start, config.events_per_user
    user = np.repeat(np.arange(start, stop), m)
    # A mix over services and two favourite categories per user: users differ, and say so.
    mix = rng.dirichlet(np.ones(len(names)), n_users).cumsum(axis=1)
    service = (rng.random(len(user))[:, None] > mix[user - start]).sum(axis=1)
    service = np.minimum(service, len(names) - 1)
    taste = rng.integers(0, len(_CATS), (n_users, 2))
    liked = taste[user - start, rng.integers(0, 2, len(user))]
    t0 = np.datetime64("2024-01-01", "ms").astype(np.int64)
    day_ms = 86_400_000
    ts = t0 + rng.integers(0, 180, n_users)[user - start] * day_ms
    ts = ts + rng.integers(0, 90 * day_ms, len(user))
    out = {}
    for k, name in enumerate(names):
        rows = np.flatnonzero(service == k)
        if not len(rows):
            continue
        item = _pick_items(catalogues[name]["category"], liked[rows], rng)
        cols = {
            "user": np.char.add("user", user[rows].astype(str)).astype(object),
            "ts": ts[rows].astype(object),
            "item_id": np.char.add(f"{name[:2]}", item.astype(str)).astype(object),
        }
        for c in SERVICES[name].columns:
            cols[c] = catalogues[name][c][item].astype(object)
        out[name] = _dirty(pa.table(cols), config.dirty, rng)
    return out


def _pick_items(item_cat: np.ndarray, liked: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Item per event: 70% from the user's liked category (when the catalogue has it)."""
    order = np.argsort(item_cat, kind="stable")
    bounds = np.searchsorted(item_cat[order], np.arange(len(_CATS) + 1))
    sizes = bounds[1:] - bounds[:-1]
    pick = rng.integers(0, len(item_cat), len(liked))
    fav = (rng.random(len(liked)) < 0.7) & (sizes[liked] > 0)
    offset = (rng.random(fav.sum()) * sizes[liked[fav]]).astype(np.int64)
    pick[fav] = order[bounds[liked[fav]] + offset]
    return pick


def _dirty(table: pa.Table, share: float, rng: np.random.Generator) -> pa.Table:
    """Blank the user or time of some rows and append exact copies of others."""
    n = table.num_rows
    k = int(rng.binomial(n, share / 2)) if share else 0
    if not k:
        return table
    bad = rng.choice(n, k, replace=False)
    no_user, no_time = np.zeros(n, bool), np.zeros(n, bool)
    no_user[bad[: k // 2]] = True
    no_time[bad[k // 2 :]] = True
    user = pc.if_else(pa.array(no_user), pa.scalar(""), table["user"])
    ts = pc.if_else(pa.array(no_time), pa.scalar(None, pa.int64()), table["ts"])
    table = table.set_column(0, "user", user).set_column(1, "ts", ts)
    dupes = table.take(pa.array(np.sort(rng.choice(n, k, replace=False))))
    return pa.concat_tables([table, dupes])


def _write_config(out_dir: Path, names: list[str]) -> Path:
    sources = [
        {
            "path": f"logs/{name}.parquet",
            "service": name,
            "user_column": "user",
            "time_column": "ts",
            "time_format": "epoch_ms",
            "text": SERVICES[name].text,
            "item_column": "item_id",
        }
        for name in names
    ]
    cfg = {"sources": sources, "output": "events.parquet", "rejects": "rejects.csv"}
    return write_text(yaml.safe_dump(cfg, sort_keys=False), out_dir / "ingest.yaml")
