"""Pretraining ``clue`` on MovieLens-1M until the validation loss stops improving.

Reports the wall time (target <= 10 minutes on the 2 CPU cores), peak RAM and the loss curve, and
runs a named peer on the same pairs in the same run: sentence-transformers fine-tuning its backbone
on the flat history texts with its in-batch-negative loss (``MultipleNegativesRankingLoss``), timed
per 1,000 pairs; the ratio is pairs/s of byod over pairs/s of the peer.

    python bench/pretrain.py --backbone minilm
    python bench/pretrain.py --device cuda --epochs 50     # on a GPU machine
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time

import numpy as np
import torch

from byod.encoders.cache import EmbeddingCache
from byod.encoders.histories import HistoryArrays
from byod.pretrain.run import PretrainConfig, pretrain
from byod.pretrain.trainer import TrainConfig
from byod.pretrain.views import ClueViews

from common import backbone as open_bb
from common import ml_histories, peak_mb


def peer_pairs_per_second(bb, histories, n_pairs: int, batch_size: int) -> float:  # noqa: ANN001
    """sentence-transformers' own in-batch-negative fine-tuning on flat clue pairs."""
    from sentence_transformers import losses

    per_user = histories.group_by("user_id", maintain_order=True).agg("text")
    per_user = per_user.filter(per_user["text"].list.len() >= 2)
    rng = np.random.default_rng(0)
    pairs = []
    for texts in per_user["text"].to_list()[:n_pairs]:
        a, b = rng.choice(len(texts), 2, replace=False)
        pairs.append((texts[a], texts[b]))
    model = bb.model
    model.train()
    loss = losses.MultipleNegativesRankingLoss(model)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    t0 = time.perf_counter()
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        feats = [model.tokenize([p[i] for p in chunk]) for i in (0, 1)]
        opt.zero_grad()
        value = loss(feats, None)
        value.backward()
        opt.step()
    return len(pairs) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--peer-pairs", type=int, default=64)
    parser.add_argument("--out", default=None, help="model folder (default: a temporary one)")
    args = parser.parse_args()
    histories, _ = ml_histories(args.dataset, 128)
    bb = open_bb(args.backbone)
    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache(tmp + "/cache", bb.fingerprint, bb.dim)
        t0 = time.perf_counter()
        arrays = HistoryArrays.build(histories, bb, cache=cache)
        t_encode = time.perf_counter() - t0
        train = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                            chunk_size=args.batch_size, device=args.device)  # fmt: skip
        cfg = PretrainConfig(
            objective="clue", backbone=bb.name, train=train, optimizer={"lr": args.lr}
        )
        t0 = time.perf_counter()
        _, state = pretrain(
            histories, args.out or tmp + "/model", cfg, backbone=bb, vector_cache_dir=tmp + "/cache"
        )
        t_train = time.perf_counter() - t0
    n_pairs = len(ClueViews().eligible(arrays)) * (1 - cfg.train.val_fraction) * state.epoch
    ours = n_pairs / t_train
    peer = peer_pairs_per_second(bb, histories, args.peer_pairs, 16)
    best = min(h["val_loss"] for h in state.history)
    print(
        f"{args.dataset}: {histories.height:,} histories; backbone {bb.name}; device {cfg.train.device}"
    )
    print(f"event-text encoding (cold cache): {t_encode:.0f} s")
    print(
        f"pretraining until early stop: {t_train:.0f} s, {state.epoch} epochs, best val loss {best:.4f}"
    )
    print(f"{'epoch':>5} {'train':>8} {'val':>8} {'temp':>7} {'s':>6}")
    for h in state.history:
        print(
            f"{h['epoch']:>5} {h['train_loss']:>8.4f} {h['val_loss']:>8.4f} {h.get('temperature', math.nan):>7.3f} {h['seconds']:>6.1f}"
        )
    print(
        f"pairs/s: byod {ours:,.0f}; peer (sentence-transformers MNRL, flat text) {peer:,.1f}; ratio {ours / peer:,.0f}x"
    )
    print(
        f"target <= 600 s training wall time: {'met' if t_train <= 600 else 'NOT met'}; peak RAM {peak_mb():,.0f} MB"
    )


if __name__ == "__main__":
    main()
