"""A tiny deployment built once per session: hashing backbone, random sequence encoder, a
40-user table, two classification heads, 30 items with a recommendation head, a text classifier."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from byod.data.schema import EVENT_SCHEMA, INTERACTION_SCHEMA
from byod.data.serialize import SerializeConfig, serialize
from byod.encoders.hashing import HashingBackbone
from byod.encoders.user import model_hash
from byod.features.table import frame_hash, write_feature_table
from byod.pretrain.run import baseline_encoder
from byod.serve import ServeSettings, create_app
from byod.serve.app import default_loader
from byod.serve.build import DeploySpec, build_deployment

WORDS = ["action", "drama", "comedy", "horror", "space", "love", "war", "kids"]
N_USERS, N_ITEMS = 40, 160


def tiny_events(seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Events, interactions and labels: each user likes items of two genres."""
    rng = np.random.default_rng(seed)
    genre = {f"i{i}": WORDS[i % len(WORDS)] for i in range(N_ITEMS)}
    text = {i: f"{g} movie {i}" for i, g in genre.items()}
    events, labels, t0, seq = [], [], datetime(2024, 1, 1, tzinfo=UTC), 0
    for u in range(N_USERS):
        likes = [WORDS[u % 4], WORDS[4 + u % 4]]
        pool = [i for i, g in genre.items() if g in likes]
        for item in rng.choice(pool, int(rng.integers(6, 12)), replace=False).tolist():
            seq += 1  # distinct items per user: leave-one-out needs an unseen test item
            events.append({"user_id": f"u{u}", "timestamp": t0 + timedelta(hours=seq),
                           "service": str(rng.choice(["shop", "view"])),
                           "text": text[item], "item_id": item, "seq": seq})  # fmt: skip
        labels.append({"user_id": f"u{u}", "task": "likes", "label": likes[0]})
        labels.append({"user_id": f"u{u}", "task": "half", "label": "a" if u % 2 else "b"})
    ev = pl.DataFrame(events, schema=EVENT_SCHEMA)
    inter = ev.select(
        "user_id", "item_id", pl.col("text").alias("item_text"), "timestamp", "seq"
    ).cast(INTERACTION_SCHEMA)
    return ev, inter, pl.DataFrame(labels)


def _text_classifier(folder: Path, backbone: HashingBackbone) -> Path:
    from byod.textlab.model import save_classifier
    from byod.textlab.prompts import load_task
    from byod.textlab.semisup import HyperMatchHead, SSLConfig

    texts = ["great fun movie", "loved it great", "awful boring film", "boring and awful"] * 4
    y = np.array(["fresh", "fresh", "rotten", "rotten"] * 4)
    head = HyperMatchHead(SSLConfig(steps=60, hidden=8), seed=0).fit(backbone.encode(texts), y)
    task = load_task("rotten-tomatoes", labels=["fresh", "rotten"])
    return save_classifier(head, folder, backbone=backbone.name, task=task)


@pytest.fixture(scope="session")
def tiny_backbone() -> HashingBackbone:
    return HashingBackbone(dim=32)


def build_tiny(root: Path, backbone: HashingBackbone, *, seed: int = 0, ann: str = "auto") -> Path:
    """Build a tiny deployment under ``root`` and return its folder."""
    events, inter, labels = tiny_events(seed)
    histories = serialize(events, SerializeConfig(max_events=32))
    encoder = baseline_encoder("random", histories, backbone, max_events=32, seed=seed)
    model_dir = encoder.save(root / "model")
    features = encoder.encode(histories)
    cfg = encoder.config
    table = write_feature_table(
        features,
        root / "features",
        {"backbone": cfg.backbone, "backbone_fingerprint": cfg.backbone_fingerprint,
         "model_hash": model_hash(model_dir), "objective": cfg.objective, "mode": cfg.mode,
         "source_hash": frame_hash(histories)},
    )  # fmt: skip
    spec = DeploySpec(
        encoder=encoder,
        encoder_dir=model_dir,
        table=table,
        labels=labels,
        tasks=("likes", "half"),
        interactions=inter,
        text_classifiers={"reviews": _text_classifier(root / "reviews", backbone)},
        text_backbones={"reviews": backbone},
        ann=ann,
        epochs=2,
    )
    build_deployment(spec, root / "deploy")
    return root / "deploy"


@pytest.fixture(scope="session")
def tiny_deployment(tmp_path_factory, tiny_backbone) -> Path:
    return build_tiny(tmp_path_factory.mktemp("tiny"), tiny_backbone)


@pytest.fixture(scope="session")
def second_deployment(tmp_path_factory, tiny_backbone) -> Path:
    """Another table version (a different encoder seed) to hot-swap to."""
    root = tmp_path_factory.mktemp("tiny2")
    folder = build_tiny(root, tiny_backbone, seed=1)
    return folder


def make_app(deployment: Path, backbone, **overrides):  # noqa: ANN001, ANN201
    settings = ServeSettings(deployment=deployment, **overrides)
    return create_app(settings, loader=default_loader(settings, lambda name: backbone))


READ_KEY, ADMIN_KEY = "read-key-0123", "admin-key-4567"


def key_settings() -> dict:
    from byod.serve.security import hash_key

    return {"api_keys": f"read:{hash_key(READ_KEY)},admin:{hash_key(ADMIN_KEY)}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free loopback port, stopped at the end of the session."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; see Makefile)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not answer within 5 s")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)
