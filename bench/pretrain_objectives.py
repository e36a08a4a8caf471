"""Pretraining objectives on MovieLens: wall time to convergence and a frozen-feature probe.

For each variant (old ``clue`` with deterministic last-64 views, ``clue`` with random slices,
``slices``, combinations) it pretrains on the leave-one-out history side until the validation loss
stops improving (early stopping, patience ``--patience``, at most ``--epochs``), then embeds every
user's FULL history and probes the frozen features with logistic regression (C by 3-fold CV over
1e-3..1e1 on the first split, standardised features): gender AUROC, age and occupation accuracy, mean ± std over
``--seeds`` stratified 80/20 splits. The peer in the same run is the zero-shot mean of the
backbone's event vectors (no training); ratios are against it.

    python bench/pretrain_objectives.py --dataset ml-100k --epochs 5        # iterate
    python bench/pretrain_objectives.py --dataset ml-1m --seeds 3 --out runs/objectives

``--suite next-item``: the ``next-item`` objective (ids off / hashed, alone or mixed) on the
leave-one-out split of :mod:`byod.transfer.nextitem`. Event texts are the item texts (no rating:
the item table is the catalogue); pretraining sees the events before each user's validation
target, the model's own scores (user state . item table) rank the test target given every event
before it, sampled-100 and full ranking. Peers in the same run: co-occurrence, item-kNN,
popularity, and the zero-shot mean of event vectors scored by cosine with the item vectors; the
attribute probe of the model's pooled features runs beside the zero-shot one on the same texts::

    python bench/pretrain_objectives.py --suite next-item --variants next-item,next-item+ids \
        --epochs 40 --patience 3 --train-seeds 0,1,2 --out runs/next-item
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from byod.encoders.cache import EmbeddingCache
from byod.pretrain.run import PretrainConfig, baseline_encoder, pretrain
from byod.pretrain.trainer import TrainConfig

from common import backbone as open_bb
from common import ml_histories, peak_mb

# name -> (objective spec, view options)
VARIANTS = {
    "clue-last64": ("clue", {"random_slices": False}),
    "clue": ("clue", {}),
    "slices": ("slices", {}),
    "clue+slices": ("clue:1,slices:1", {}),
}
TASKS = {"gender": "auroc", "age": "acc", "occupation": "acc"}
warnings.filterwarnings("ignore", category=FutureWarning)  # sklearn 1.8's API notices


def probe(ids: list[str], vectors: np.ndarray, labels: pl.DataFrame, seeds: int) -> dict:
    """Logistic-regression probe per task: mean and std of the metric over ``seeds`` splits.

    ``C`` is chosen by 3-fold CV over 1e-3..1e1 on the first split's training users and reused
    for the other splits (the CV costs most of the probe on 2 shared cores).
    """
    row = dict(zip(ids, range(len(ids)), strict=True))
    out = {}
    for task, metric in TASKS.items():
        lab = labels.filter(pl.col("task") == task)
        lab = lab.filter(pl.Series([u in row for u in lab["user_id"]]))
        x = vectors[[row[u] for u in lab["user_id"]]]
        y = np.unique(lab["label"].to_numpy(), return_inverse=True)[1]
        scores, c = [], None
        for seed in range(seeds):
            split = StratifiedShuffleSplit(1, test_size=0.2, random_state=seed)
            tr, te = next(split.split(x, y))
            if c is None:
                cv = LogisticRegressionCV(Cs=np.logspace(-3, 1, 5), cv=3, max_iter=300, tol=1e-3)
                c = float(make_pipeline(StandardScaler(), cv).fit(x[tr], y[tr])[-1].C_[0])
            head = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=300, tol=1e-3))
            head.fit(x[tr], y[tr])
            if metric == "auroc":
                scores.append(roc_auc_score(y[te], head.predict_proba(x[te])[:, 1]))
            else:
                scores.append(accuracy_score(y[te], head.predict(x[te])))
        out[task] = (float(np.mean(scores)), float(np.std(scores)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="runs/objectives")
    parser.add_argument("--zero-shot-from", default=None,
                        help="results.json of a run on the same data and seeds: reuse its peer "
                        "figures (to shard variants over processes)")  # fmt: skip
    parser.add_argument("--suite", choices=["attributes", "next-item"], default="attributes")
    parser.add_argument("--train-seeds", default="0", help="next-item: pretraining seeds")
    parser.add_argument("--max-events", type=int, default=64)
    parser.add_argument("--encoder", type=json.loads, default={},
                        help='next-item: SequenceEncoderConfig overrides, e.g. \'{"dim": 64}\'')  # fmt: skip
    parser.add_argument("--eval-only", action="store_true",
                        help="next-item: evaluate the models already in --out (the best epoch "
                        "early stopping saved), without training; peers are skipped")  # fmt: skip
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="next-item: wall-time cap per pretraining run (TrainConfig)")  # fmt: skip
    args = parser.parse_args()
    if args.suite == "next-item":
        from next_item_suite import run_next_item

        run_next_item(args, probe)
        return
    out = Path(args.out)
    home = Path(os.environ.get("BYOD_HOME") or Path.home() / ".cache" / "byod")
    vector_cache_dir = home / "text-vectors"
    histories, labels = ml_histories(args.dataset, None)  # the FULL history side
    bb = open_bb(args.backbone)
    if args.zero_shot_from:
        results = {"zero-shot": json.loads(Path(args.zero_shot_from).read_text())["zero-shot"]}
    else:
        zs = baseline_encoder("zero-shot", histories, bb)
        zs.cache = EmbeddingCache(vector_cache_dir, bb.fingerprint, bb.dim)
        feats = zs.encode(histories)
        results = {"zero-shot": {"probe": probe(feats["user_id"].to_list(),
                                                feats["vector"].to_numpy(), labels, args.seeds)}}  # fmt: skip
    print(f"{args.dataset}: {histories.height:,} histories; zero-shot {results['zero-shot']}")
    for name in args.variants.split(","):
        spec, views = VARIANTS.get(name, (name, {}))
        train = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                            chunk_size=args.batch_size, device=args.device)  # fmt: skip
        cfg = PretrainConfig(objective=spec, backbone=bb.name, views=views, train=train,
                             optimizer={"lr": args.lr, "weight_decay": 0.01},
                             patience=args.patience)  # fmt: skip
        t0 = time.perf_counter()
        enc, state = pretrain(histories, out / name, cfg, backbone=bb, vector_cache_dir=vector_cache_dir,
                              progress=False)  # fmt: skip
        wall = time.perf_counter() - t0
        feats = enc.encode(histories)
        best = min(state.history, key=lambda h: h["val_loss"])
        results[name] = {
            "objective": spec,
            "views": views,
            "wall_s": wall,
            "epochs": state.epoch,
            "best_epoch": best["epoch"],
            "best_val": best["val_loss"],
            "epoch_s": float(np.mean([h["seconds"] for h in state.history])),
            "dim": enc.dim,
            "probe": probe(
                feats["user_id"].to_list(), feats["vector"].to_numpy(), labels, args.seeds
            ),  # fmt: skip
            "config": dataclasses.asdict(cfg),
        }
        print(name, json.dumps({k: v for k, v in results[name].items() if k != "config"}))
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=1))
    _table(results)
    print(f"peak RAM {peak_mb():,.0f} MB")


def _table(results: dict) -> None:
    zs = results["zero-shot"]["probe"]
    print("| source | wall s (epochs, best, s/epoch) | gender AUROC | age acc | occupation acc |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        p = r["probe"]
        cells = [f"{p[t][0]:.3f} ± {p[t][1]:.3f} ({p[t][0] / zs[t][0]:.3f}x)" for t in TASKS]
        time_cell = (
            f"{r['wall_s']:.0f} ({r['epochs']}, {r['best_epoch']}, {r['epoch_s']:.0f})"
            if "wall_s" in r
            else "-"
        )
        print(f"| {name} | {time_cell} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
