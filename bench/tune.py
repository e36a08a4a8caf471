"""Tuning benchmark on MovieLens-1M: tuned heads vs defaults, TPE vs random, storage, pruning.

Three parts (``--parts heads,storage,pruning``):

- ``heads``: a feature table of the blocks ``zero-shot`` (MiniLM, whitened full-history mean),
  ``svd`` and ``aggregates`` (the SVD fitted on the training side, as ``bench/transfer.py``);
  per task, the default logistic head (``byod transfer classify``: every block, built-in CV over
  C) against ``byod tune head`` with ``--tpe-trials`` TPE trials and ``--random-trials`` random
  ones (the peer: Optuna's random search), all scored once on the same held-out test users;
  per seed (the seed moves the test split, the CV splits and the sampler).
- ``storage``: milliseconds per trial that the journal file and SQLite add over Optuna's
  in-memory storage (the peer), on a trivial objective.
- ``pruning``: ``byod tune pretrain`` on a user subset (``--pretrain-users``), the same trials
  with the median pruner and without: epochs trained and the best probe.

Command (2 CPU cores shared with 5 other jobs; kept small)::

    BYOD_HOME=/tmp/tune-home .venv/bin/python bench/tune.py --out runs/bench-tune
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))

from byod.features.blocks import BlockLayout  # noqa: E402
from byod.transfer.classify import task_labels  # noqa: E402
from byod.tune.headstudy import HeadStudy, tune_head  # noqa: E402
from byod.tune.space import default_space  # noqa: E402
from byod.tune.study import open_storage  # noqa: E402

TASKS = ["gender", "age", "occupation"]
BLOCKS = ("zero-shot", "svd", "aggregates")


def feature_matrix(
    home: Path, out: Path
) -> tuple[np.ndarray, BlockLayout, list[str], pl.DataFrame]:
    """The blocks for every labelled ML-1M user (cached in ``out/blocks.npz``)."""
    from byod.data.builtin.movielens import load_movielens

    ml = load_movielens("ml-1m")
    ids = ml.labels["user_id"].unique().sort().to_list()
    cached = out / "blocks.npz"
    if cached.exists():
        with np.load(cached) as data:
            mats = {n: data[n] for n in BLOCKS}
    else:
        from byod.encoders.backbone import open_backbone
        from byod.encoders.cache import EmbeddingCache
        from byod.features.blocks import compute_blocks
        from transfer import training_side

        backbone = open_backbone("minilm", models_dir=home / "models")
        cache = EmbeddingCache(home / "text-vectors", backbone.fingerprint, backbone.dim)
        blocks = compute_blocks(
            ml.events, ids, list(BLOCKS), backbone=backbone, cache=cache,
            fit_events=training_side(ml.events, ml.interactions), progress=True,
        )  # fmt: skip
        mats = {n: v for n, (v, _) in blocks.items()}
        out.mkdir(parents=True, exist_ok=True)
        np.savez(cached, **mats)
    layout = BlockLayout.build([(n, n, mats[n].shape[1], ()) for n in BLOCKS])
    return np.concatenate([mats[n] for n in BLOCKS], axis=1), layout, ids, ml.labels


def heads(args: argparse.Namespace, home: Path) -> list[dict]:
    X, layout, ids, labels = feature_matrix(home, args.out)  # noqa: N806
    rows = []
    for task in args.tasks:
        r, y = task_labels(labels, task, ids)
        for seed in range(args.seeds):
            for sampler, n in (("tpe", args.tpe_trials), ("random", args.random_trials)):
                folder = args.out / "studies" / f"{task}-{sampler}-{seed}"
                cfg = HeadStudy(task=task, n_trials=n, sampler=sampler, seed=seed)
                t = time.perf_counter()
                res = tune_head(X[r], y, layout, default_space("logistic"), folder, cfg)
                m = res.best["metric"]
                rows.append({
                    "task": task, "seed": seed, "sampler": sampler, "trials": n, "metric": m,
                    "cv": res.best["value"], "tuned": res.test[m], "default": res.default_test[m],
                    "seconds": time.perf_counter() - t, "params": json.dumps(res.best["params"]),
                })  # fmt: skip
                print(rows[-1], flush=True)
    return rows


def heads_table(rows: list[dict]) -> str:
    frame = pl.DataFrame(rows)
    lines = [
        "| task (metric) | default | TPE | random | TPE / default | random / default "
        "| TPE wall s | random wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def ms(values: list[float]) -> str:
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        return f"{np.mean(values):.4f} ± {sd:.4f}"

    for task in frame["task"].unique(maintain_order=True):
        t = frame.filter(pl.col("task") == task)
        tpe, rnd = t.filter(pl.col("sampler") == "tpe"), t.filter(pl.col("sampler") == "random")
        d = tpe["default"].to_list()
        lines.append(
            f"| {task} ({t['metric'][0]}) | {ms(d)} | {ms(tpe['tuned'].to_list())} "
            f"({tpe['trials'][0]} trials) | {ms(rnd['tuned'].to_list())} ({rnd['trials'][0]}) "
            f"| {tpe['tuned'].mean() / np.mean(d):.3f} | {rnd['tuned'].mean() / np.mean(d):.3f} "
            f"| {tpe['seconds'].mean():.0f} | {rnd['seconds'].mean():.0f} |"
        )
    lines.append("\nCV score of the best trial (training users): " + "; ".join(
        f"{r['task']} {r['sampler']} s{r['seed']}: {r['cv']:.4f}" for r in rows))  # fmt: skip
    return "\n".join(lines)


def storage(n: int) -> str:
    """Per-trial cost of each storage on ``x ** 2`` (what the storage adds, not the objective)."""

    def run(store: object) -> float:
        study = optuna.create_study(storage=store, sampler=optuna.samplers.RandomSampler(seed=0))
        t = time.perf_counter()
        study.optimize(lambda tr: tr.suggest_float("x", -1, 1) ** 2, n_trials=n)
        return (time.perf_counter() - t) / n * 1000

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "in-memory (peer)": [run(None) for _ in range(3)],
            "journal file (byod default)": [
                run(open_storage(Path(tmp) / f"j{i}")) for i in range(3)
            ],
            "sqlite": [run(f"sqlite:///{tmp}/s{i}.db") for i in range(3)],
        }
    base = np.mean(results["in-memory (peer)"])
    lines = ["| storage | ms per trial | overhead vs in-memory (ms) |", "|---|---:|---:|"]
    for name, v in results.items():
        lines.append(
            f"| {name} | {np.mean(v):.2f} ± {np.std(v, ddof=1):.2f} | {np.mean(v) - base:.2f} |"
        )
    return "\n".join(lines) + f"\n\n({n} trials, 3 repeats each)"


def pruning(args: argparse.Namespace, home: Path) -> str:
    """The same pretraining trials with the median pruner and without."""
    from byod.encoders.backbone import open_backbone
    from byod.tune.pretrainstudy import PretrainStudy, tune_pretrain
    from byod.tune.space import parse_space

    from common import ml_histories

    hist, labels = ml_histories("ml-1m", 64)
    users = sorted(hist["user_id"].unique().to_list())
    keep = set(np.random.default_rng(0).choice(users, args.pretrain_users, replace=False))
    hist = hist.filter(pl.col("user_id").is_in(list(keep)))
    bb = open_backbone("minilm", models_dir=home / "models")
    space = parse_space({"epochs": args.pretrain_epochs, "params": {
        "lr": {"type": "float", "low": 1e-5, "high": 3e-2, "log": True},
        "batch_size": {"type": "categorical", "choices": [32, 64]},
        "layers": {"type": "int", "low": 1, "high": 2}}}, "pretrain")  # fmt: skip
    base = {"encoder": {"dim": 64, "out_dim": 64, "heads": 2}, "max_events": 32}
    out = []
    for pruner in args.pruners.split(","):
        study = PretrainStudy(
            task="gender", n_trials=args.pretrain_trials, pruner=pruner, sampler="random",
            device="cpu", base=base, probe_users=600,
        )  # fmt: skip
        folder = args.out / "pretrain" / pruner
        t = time.perf_counter()
        best = tune_pretrain(
            hist, labels, space, folder, study, backbone=bb, cache=home / "text-vectors"
        )
        trials = pl.read_parquet(folder / "trials.parquet")
        out.append((pruner, int(trials["n_reports"].sum()), best["value"],
                    time.perf_counter() - t, int((trials["state"] == "PRUNED").sum())))  # fmt: skip
        print(out[-1], flush=True)
    (_, e0, v0, _, _) = out[0]
    lines = [
        "| pruner | epochs trained | epochs saved | best probe AUROC | change (points) "
        "| wall s | pruned trials |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, e, v, sec, n in out:
        lines.append(
            f"| {name} | {e} | {1 - e / e0:.1%} | {v:.4f} | {(v - v0) * 100:+.2f} | {sec:.0f} | {n} |"
        )
    return "\n".join(lines) + "\n\n(a study already in --out is reused: its wall time is ~0)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("runs/bench-tune"))
    p.add_argument("--parts", default="heads,storage,pruning")
    p.add_argument("--tasks", type=lambda s: s.split(","), default=TASKS)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--tpe-trials", type=int, default=30)
    p.add_argument("--random-trials", type=int, default=100)
    p.add_argument("--storage-trials", type=int, default=200)
    p.add_argument("--pretrain-users", type=int, default=1500)
    p.add_argument("--pretrain-trials", type=int, default=8)
    p.add_argument("--pretrain-epochs", type=int, default=4)
    p.add_argument("--pruners", default="none,median,hyperband")
    args = p.parse_args()
    import os

    home = Path(os.environ.get("BYOD_HOME") or Path.home() / ".cache" / "byod")
    parts = args.parts.split(",")
    sections = []
    if "storage" in parts:
        sections.append(storage(args.storage_trials))
        print(sections[-1], flush=True)
    if "heads" in parts:
        sections.append(heads_table(heads(args, home)))
        print(sections[-1], flush=True)
    if "pruning" in parts:
        sections.append(pruning(args, home))
        print(sections[-1], flush=True)
    print("\n\n".join(sections))


if __name__ == "__main__":
    main()
