"""Tuning benchmark on MovieLens-1M: tuned heads vs defaults, TPE vs random, storage, pruning.

Parts (``--parts heads,storage,pruning,amazon,ray``; default the first three):

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
- ``amazon``: ``byod tune recommend`` on the two-service Amazon data (office next item,
  zero-shot features from both services), tuned vs the default head per seed.
- ``ray``: the same gender study on Optuna in-process (the peer) and on Ray Tune with 1 and 2
  workers: what Ray costs on one machine.

``--select best,one-se`` refits each study's pick under both rules (one study, two refits);
``--cv N`` sets the repeated CV splits per trial; ``--samplers tpe`` skips the random peer.

Command (2 CPU cores shared with 5 other jobs; kept small)::

    BYOD_HOME=/tmp/tune-home .venv/bin/python bench/tune.py --out runs/bench-tune
"""

from __future__ import annotations

import argparse
import dataclasses
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
    """Per task, seed and sampler: one study; each ``--select`` rule refits from its trials."""
    X, layout, ids, labels = feature_matrix(home, args.out)  # noqa: N806
    base = default_space("logistic")
    space = dataclasses.replace(base, settings={**base.settings, "cv": args.cv})
    samplers = {"tpe": args.tpe_trials, "random": args.random_trials}
    rows = []
    for task in args.tasks:
        r, y = task_labels(labels, task, ids)
        for seed in range(args.seeds):
            for sampler in args.samplers:
                n = samplers[sampler]
                folder = args.out / "studies" / f"{task}-{sampler}-cv{args.cv}-{seed}"
                for rule in args.select:  # the study runs once; a second rule only refits
                    cfg = HeadStudy(task=task, n_trials=n, sampler=sampler, seed=seed, select=rule)
                    t = time.perf_counter()
                    res = tune_head(X[r], y, layout, space, folder, cfg)
                    m = res.best["metric"]
                    rows.append({
                        "task": task, "seed": seed, "sampler": sampler, "trials": n, "metric": m,
                        "cv_folds": args.cv, "select": rule, "cv": res.best["value"],
                        "tuned": res.test[m], "default": res.default_test[m],
                        "seconds": time.perf_counter() - t, "trial": res.best["trial"],
                        "params": json.dumps(res.best["params"]),
                    })  # fmt: skip
                    print(rows[-1], flush=True)
    if args.rows:
        pl.DataFrame(rows).write_parquet(args.rows)
    return rows


def heads_table(rows: list[dict]) -> str:
    """Mean ± std over seeds of the default and each (sampler, rule), and their differences."""
    frame = pl.DataFrame(rows)
    lines = [
        "| task (metric) | CV folds | default | tuned (sampler, rule, trials) | tuned - default "
        "| wins | wall s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def ms(values: list[float]) -> str:
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        return f"{np.mean(values):.4f} ± {sd:.4f}"

    keys = ["task", "cv_folds", "sampler", "select"]
    for key, t in frame.group_by(keys, maintain_order=True):
        task, folds, sampler, rule = key
        d, tu = t["default"].to_list(), t["tuned"].to_list()
        diff = [a - b for a, b in zip(tu, d, strict=True)]
        wins = sum(x > 0 for x in diff)
        lines.append(
            f"| {task} ({t['metric'][0]}) | {folds} | {ms(d)} | {ms(tu)} ({sampler}, {rule}, "
            f"{t['trials'][0]}) | {ms(diff)} | {wins}/{len(diff)} | {t['seconds'].mean():.0f} |"
        )
    lines.append("\nCV score of the chosen trial (training users): " + "; ".join(
        f"{r['task']} {r['sampler']} {r['select']} s{r['seed']}: {r['cv']:.4f}"
        for r in rows))  # fmt: skip
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


def amazon(args: argparse.Namespace, home: Path) -> str:
    """``byod tune recommend`` on the two-service Amazon data: office next item, both services.

    Zero-shot features (mean of MiniLM event vectors, from the events of both services before
    each target) and item text vectors, as ``bench/two_service.py``; the leave-one-out targets of
    every user (``byod.transfer.nextitem``); per seed, the default head and the tuned one on the
    same sampled negatives.
    """
    from byod.data.config import load_ingest_config
    from byod.data.ingest import ingest
    from byod.encoders.backbone import open_backbone
    from byod.encoders.cache import EmbeddingCache
    from byod.pretrain.run import baseline_encoder
    from byod.transfer.nextitem import next_item_task
    from byod.transfer.run import encoder_source, item_vectors
    from byod.tune.recstudy import headline, tune_recommend
    from two_service import CONFIG, held_out_concurrent, interactions

    events = ingest(load_ingest_config(CONFIG, data_dir=args.amazon, out_dir=args.out / "amazon"))
    pool = held_out_concurrent(events.events, "office")
    inter = interactions(pool, "office")
    backbone = open_backbone("minilm", models_dir=home / "models")
    cache = EmbeddingCache(home / "text-vectors", backbone.fingerprint, backbone.dim)
    encoder = baseline_encoder("zero-shot", pool.select("service").unique(), backbone)
    encoder.cache = cache
    features = encoder_source(encoder, pool)
    rows = []
    for seed in range(args.seeds):
        task = next_item_task(inter, n_negatives=100, seed=seed)
        vectors = item_vectors(task, backbone, cache, progress=seed == 0)
        cfg = HeadStudy(head="recommend", task="office", n_trials=args.amazon_trials,
                        sampler="tpe", seed=seed)  # fmt: skip
        t = time.perf_counter()
        res = tune_recommend(
            task, features, vectors, default_space("recommend"),
            args.out / "amazon-studies" / f"office-{seed}", cfg, static=False,
        )  # fmt: skip
        rows.append({"seed": seed, "tuned": headline(res.test), "default": headline(res.default_test),
                     "valid": res.best["value"], "seconds": time.perf_counter() - t,
                     "params": json.dumps(res.best["params"])})  # fmt: skip
        print(rows[-1], flush=True)
    frame = pl.DataFrame(rows)
    diff = (frame["tuned"] - frame["default"]).to_list()

    def ms(v: list[float]) -> str:
        return f"{np.mean(v):.4f} ± {np.std(v, ddof=1) if len(v) > 1 else 0.0:.4f}"

    return (
        "| task | default | tuned (TPE, trials) | tuned - default | wins | wall s |\n"
        "|---|---:|---:|---:|---:|---:|\n"
        f"| office next item (sampled-100 HR@10) | {ms(frame['default'].to_list())} | "
        f"{ms(frame['tuned'].to_list())} ({args.amazon_trials}) | {ms(diff)} | "
        f"{sum(d > 0 for d in diff)}/{len(diff)} | {frame['seconds'].mean():.0f} |"
    )


def ray_cost(args: argparse.Namespace, home: Path) -> str:
    """The same gender study locally (the peer) and on a local Ray cluster with 1 and 2 workers."""
    X, layout, ids, labels = feature_matrix(home, args.out)  # noqa: N806
    r, y = task_labels(labels, "gender", ids)
    space = default_space("logistic")
    runs = [("local (peer)", "local", 1)] + [(f"ray x{w}", "ray", w) for w in args.ray_workers]
    lines = ["| backend | wall s | s per trial | best CV AUROC | wall / local |",
             "|---|---:|---:|---:|---:|"]  # fmt: skip
    base = None
    for name, backend, workers in runs:
        if backend == "ray":
            import ray

            ray.shutdown()  # a fresh cluster sized to the workers: its start-up is counted
        folder = args.out / "ray-cost" / f"{backend}-{workers}"
        cfg = HeadStudy(task="gender", n_trials=args.ray_trials, sampler="random", seed=0,
                        backend=backend, workers=workers)  # fmt: skip
        t = time.perf_counter()
        res = tune_head(X[r], y, layout, space, folder, cfg)
        wall = time.perf_counter() - t
        base = base or wall
        lines.append(f"| {name} | {wall:.1f} | {wall / args.ray_trials:.2f} | "
                     f"{res.best['value']:.4f} | {wall / base:.2f} |")  # fmt: skip
        print(lines[-1], flush=True)
    return "\n".join(lines) + f"\n\n({args.ray_trials} random-search trials each)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("runs/bench-tune"))
    p.add_argument("--parts", default="heads,storage,pruning")
    p.add_argument("--tasks", type=lambda s: s.split(","), default=TASKS)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--samplers", type=lambda s: s.split(","), default=["tpe", "random"])
    p.add_argument("--select", type=lambda s: s.split(","), default=["best"],
                   help="selection rules refitted from each study: best, one-se")  # fmt: skip
    p.add_argument("--cv", type=int, default=3, help="repeated CV splits per trial")
    p.add_argument("--rows", type=Path, default=None, help="write the per-seed rows here")
    p.add_argument("--tpe-trials", type=int, default=30)
    p.add_argument("--random-trials", type=int, default=100)
    p.add_argument("--storage-trials", type=int, default=200)
    p.add_argument("--pretrain-users", type=int, default=1500)
    p.add_argument("--pretrain-trials", type=int, default=8)
    p.add_argument("--pretrain-epochs", type=int, default=4)
    p.add_argument("--pruners", default="none,median,hyperband")
    p.add_argument("--amazon", type=Path, default=Path("../shared/data/amazon-arts-office"))
    p.add_argument("--amazon-trials", type=int, default=10)
    p.add_argument("--ray-trials", type=int, default=16)
    p.add_argument("--ray-workers", type=lambda s: [int(w) for w in s.split(",")], default=[1, 2])
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
    if "amazon" in parts:
        sections.append(amazon(args, home))
        print(sections[-1], flush=True)
    if "ray" in parts:
        sections.append(ray_cost(args, home))
        print(sections[-1], flush=True)
    if "pruning" in parts:
        sections.append(pruning(args, home))
        print(sections[-1], flush=True)
    print("\n\n".join(sections))


if __name__ == "__main__":
    main()
