"""Embedding every MovieLens-1M user: the cached hierarchical pipeline against its two anchors.

(a) the backbone's own throughput on the same set of distinct event texts (the pipeline around it
    should cost little: target pipeline/backbone >= 0.8), and
(b) the peer approach of encoding each (user, service) history as one flat text with the same
    backbone (what the event-text cache saves).

    python bench/encode.py --backbone minilm            # or e5-small, or a model folder
    python bench/encode.py --flat-users 300             # size of the flat-text sample
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from byod.encoders.cache import EmbeddingCache
from byod.encoders.user import UserEncoder
from byod.pretrain.run import baseline_encoder

from common import backbone as open_bb
from common import ml_histories, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--model", help="a trained model folder (default: a random-init encoder)")
    parser.add_argument("--max-events", type=int, default=128)
    parser.add_argument("--flat-users", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    histories, _ = ml_histories(args.dataset, args.max_events)
    bb = open_bb(args.backbone)
    n_users = histories["user_id"].n_unique()
    texts = histories["event_texts"].explode().unique().to_list()

    t0 = time.perf_counter()
    bb.encode(texts, batch_size=64)
    t_backbone = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            enc = UserEncoder.load(args.model, backbone=bb, vector_cache_dir=tmp)
        else:
            enc = baseline_encoder("random", histories, bb, max_events=args.max_events)
            enc.cache = EmbeddingCache(tmp, bb.fingerprint, bb.dim)
        t0 = time.perf_counter()
        feats = enc.encode(histories)
        t_cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        enc.encode(histories)
        t_warm = time.perf_counter() - t0
    assert feats.height == n_users

    rng = np.random.default_rng(0)
    sample = rng.choice(histories["user_id"].unique().to_list(), args.flat_users, replace=False)
    flat = histories.filter(histories["user_id"].is_in(list(sample)))["text"].to_list()
    t0 = time.perf_counter()
    bb.encode(flat, batch_size=16)
    t_flat = (time.perf_counter() - t0) * n_users / args.flat_users  # extrapolated to all users

    n_hist = histories.height
    print(
        f"{args.dataset}: {n_users:,} users, {n_hist:,} histories, {len(texts):,} distinct event texts"
    )
    print(f"backbone {bb.name} ({bb.dim}-d); torch threads {torch.get_num_threads()}")
    print(f"{'what':<44} {'seconds':>9} {'users/s':>9}")
    rows = [
        ("backbone alone on the distinct event texts", t_backbone),
        ("byod pipeline, cold cache", t_cold),
        ("byod pipeline, warm cache", t_warm),
        (f"flat text per history (peer; {args.flat_users} users, extrapolated)", t_flat),
    ]
    for name, secs in rows:
        print(f"{name:<44} {secs:>9.1f} {n_users / secs:>9.1f}")
    print(f"(a) backbone time / pipeline time (cold): {t_backbone / t_cold:.2f}  (target >= 0.8)")
    print(
        f"(b) speed-up over flat encoding: cold {t_flat / t_cold:.1f}x, warm {t_flat / t_warm:.1f}x"
    )
    print(f"peak RAM {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
