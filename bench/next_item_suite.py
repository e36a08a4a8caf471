"""The ``--suite next-item`` of ``bench/pretrain_objectives.py`` (kept apart: one idea per file)."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from byod.data.builtin import load_movielens
from byod.data.serialize import SerializeConfig, serialize
from byod.encoders.cache import EmbeddingCache
from byod.encoders.user import UserEncoder
from byod.pretrain.run import PretrainConfig, baseline_encoder, pretrain
from byod.pretrain.trainer import TrainConfig
from byod.transfer.baselines import NEXT_ITEM_BASELINES
from byod.transfer.nextitem import evaluate_scores, events_before_targets, next_item_task
from byod.transfer.run import item_vectors
from byod.vectors import l2_normalise

from common import backbone as open_bb
from common import peak_mb

# RecBole SASRec on the same split (bench/peer_recbole.py, docs/benchmarks.md), not re-run here:
# 1 epoch on 2 CPU threads costs 1,300-1,950 s.
SASREC_1EP = {
    "sampled-100": {"hr@10": 0.778, "ndcg@10": 0.558},
    "full": {"hr@10": 0.223, "ndcg@10": 0.121},
}
# next-item suite: name -> (objective spec, item_ids)
NEXT_VARIANTS = {
    "next-item": ("next-item", "off"),
    "next-item+ids": ("next-item", "hashed"),
    "next-item+clue": ("next-item:1,clue:0.5", "off"),
    "next-item+clue+ids": ("next-item:1,clue:0.5", "hashed"),
    "next-item+future": ("next-item:1,future:0.5", "off"),
}
METRICS = [("sampled-100", "hr@10"), ("sampled-100", "ndcg@10"), ("full", "hr@10"),
           ("full", "ndcg@10")]  # fmt: skip


def _value(rows: pl.DataFrame, protocol: str, metric: str) -> float:
    sel = rows.filter(
        (pl.col("protocol") == protocol)
        & (pl.col("metric") == metric)
        & (pl.col("segment") == "all")
    )
    return float(sel["value"][0])


def _metrics(rows: pl.DataFrame) -> dict[str, float]:
    return {f"{p} {m}": _value(rows, p, m) for p, m in METRICS}


def _aligned(users: list[str], scores: np.ndarray, order: list[str]) -> np.ndarray:
    row = {u: i for i, u in enumerate(users)}
    return scores[[row[u] for u in order]]


def run_next_item(args: argparse.Namespace, probe: Callable) -> None:
    """Pretrain each variant per seed, score the test targets, probe attributes; print tables."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    home = Path(os.environ.get("BYOD_HOME") or Path.home() / ".cache" / "byod")
    cache_dir = home / "text-vectors"
    ml = load_movielens(args.dataset)
    texts = ml.items.select("item_id", "item_text")
    events = ml.events.join(texts, on="item_id", how="left").with_columns(
        text=pl.col("item_text")
    ).drop("item_text")  # fmt: skip
    task = next_item_task(ml.interactions, seed=0)
    valid = task.role("valid").select("user_id", "timestamp", "seq")
    test = task.test.select("user_id", "timestamp", "seq")
    train_events = events_before_targets(events, valid)
    ser = SerializeConfig(max_events=None)
    train_hist = serialize(train_events, ser)
    test_hist = serialize(events_before_targets(events, test), ser)
    full_hist = serialize(events, ser)
    bb = open_bb(args.backbone)
    cache = EmbeddingCache(cache_dir, bb.fingerprint, bb.dim)
    item_texts = task.items["item_text"].to_list()
    results: dict = {"peers": {}, "variants": {}}
    if not args.eval_only:
        _peers(results, task, full_hist, test_hist, bb, cache, ml.labels, probe, args.seeds)
    seeds = [int(s) for s in args.train_seeds.split(",")]
    for name in args.variants.split(","):
        spec, item_ids = NEXT_VARIANTS[name]
        runs = []
        for seed in seeds:
            train = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, chunk_size=64,
                                device=args.device, seed=seed,
                                max_minutes=args.max_minutes)  # fmt: skip
            cfg = PretrainConfig(objective=spec, backbone=bb.name, max_events=args.max_events,
                                 encoder=args.encoder, item_ids=item_ids, train=train, patience=args.patience,
                                 optimizer={"lr": args.lr, "weight_decay": 0.01})  # fmt: skip
            model_dir = out / f"{name}-s{seed}"
            t0 = time.perf_counter()
            if args.eval_only:
                enc = UserEncoder.load(model_dir, backbone=bb, vector_cache_dir=cache_dir)
                lines = (model_dir / "metrics.jsonl").read_text().splitlines()
                history = [json.loads(line) for line in lines]
            else:
                enc, state = pretrain(train_hist, model_dir, cfg, backbone=bb,
                                      vector_cache_dir=cache_dir, progress=False)  # fmt: skip
                history = state.history
            wall = time.perf_counter() - t0
            runs.append(_evaluate(enc, task, test_hist, full_hist, item_texts, ml.labels, probe,
                                  args.seeds, seed, wall, history, name))  # fmt: skip
            results["variants"][name] = runs
            (out / f"results-{name}.json").write_text(json.dumps(results, indent=1))
    if results["peers"]:
        _tables(results)
    print(f"peak RAM {peak_mb():,.0f} MB")


def _evaluate(enc, task, test_hist, full_hist, item_texts, labels, probe, n_probe, seed, wall,
              history, name) -> dict:  # fmt: skip
    """Model scores on the test targets and the attribute probe of the pooled features."""
    t0 = time.perf_counter()
    users, scores = enc.next_item_scores(test_hist, item_texts)
    rows = evaluate_scores(task, _aligned(users, scores, task.test_users), name)
    f = enc.encode(full_hist)
    best = min(history, key=lambda h: h["val_loss"])
    run = {
        "seed": seed,
        "wall_s": wall,
        "epochs": len(history),
        "best_epoch": best["epoch"],
        "epoch_s": float(np.mean([h["seconds"] for h in history])),
        "history": history,
        "metrics": _metrics(rows),
        "probe": probe(f["user_id"].to_list(), np.stack(f["vector"].to_numpy()), labels, n_probe),
        "eval_s": time.perf_counter() - t0,
    }
    print(name, json.dumps({k: v for k, v in run.items() if k != "history"}), flush=True)
    return run


def _peers(results, task, full_hist, test_hist, bb, cache, labels, probe, n_probe) -> None:
    """Co-occurrence, item-kNN, popularity and the zero-shot mean (cosine; probe) in this run."""
    for name, fn in NEXT_ITEM_BASELINES.items():
        results["peers"][name] = _metrics(evaluate_scores(task, fn(task), name))
    zs = baseline_encoder("zero-shot", full_hist, bb)
    zs.cache = cache
    zs_test = zs.encode(test_hist)
    iv = l2_normalise(item_vectors(task, bb, cache))
    zs_scores = np.stack(zs_test["vector"].to_numpy()) @ iv.T
    zs_scores = _aligned(zs_test["user_id"].to_list(), zs_scores, task.test_users)
    results["peers"]["zero-shot (cosine)"] = _metrics(evaluate_scores(task, zs_scores, "zs"))
    feats = zs.encode(full_hist)
    results["zero-shot probe"] = probe(
        feats["user_id"].to_list(), np.stack(feats["vector"].to_numpy()), labels, n_probe
    )
    print("peers", json.dumps(results["peers"]), "zero-shot probe", results["zero-shot probe"])


def _tables(results: dict) -> None:
    cooc = results["peers"]["cooccurrence"]
    heads = ["sampled HR@10", "sampled NDCG@10", "full HR@10", "full NDCG@10"]
    print("| source | " + " | ".join(heads) + " | s/epoch (epochs, best) |")
    print("|---|" + "---|" * (len(heads) + 1))
    for name, m in results["peers"].items():
        print(f"| {name} | " + " | ".join(f"{m[f'{p} {k}']:.3f}" for p, k in METRICS) + " | - |")
    for name, runs in results["variants"].items():
        cells = []
        for p, k in METRICS:
            v = np.array([r["metrics"][f"{p} {k}"] for r in runs])
            sas = SASREC_1EP.get(p, {}).get(k)
            ratio = f"{v.mean() / cooc[f'{p} {k}']:.2f}x cooc"
            ratio += f", {v.mean() / sas:.2f}x SASRec-1ep" if sas else ""
            cells.append(f"{v.mean():.3f} ± {v.std():.3f} ({ratio})")
        t = f"{np.mean([r['epoch_s'] for r in runs]):.0f} ({[r['epochs'] for r in runs]}, "
        t += f"{[r['best_epoch'] for r in runs]})"
        print(f"| {name} (n={len(runs)}) | " + " | ".join(cells) + f" | {t} |")
    zs = results["zero-shot probe"]
    print("\n| source | gender AUROC | age acc | occupation acc |\n|---|---|---|---|")
    print("| zero-shot (same texts) | " + " | ".join(f"{zs[t][0]:.3f}" for t in zs) + " |")
    for name, runs in results["variants"].items():
        cells = []
        for t in zs:
            v = np.array([r["probe"][t][0] for r in runs])
            cells.append(f"{v.mean():.3f} ± {v.std():.3f} ({v.mean() / zs[t][0]:.3f}x)")
        print(f"| {name} | " + " | ".join(cells) + " |")
