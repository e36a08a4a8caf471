"""Two real services: does the other service's history help next-item recommendation?

Data: Amazon Arts + Office (9,577 real users who bought in both, order only; see
``../shared/data/README.md``), ingested through ``examples/amazon/ingest.yaml`` like any user's
logs. Target service office, then arts: each user's last item in the target service is the test
target (leave-one-out by ``(step, seq)``, ``byod.data.splits``); the data set's own user split
(``split.csv``) decides who trains the head (``train`` users: all their targets), who stops it
early (``valid`` users' test targets) and who is scored (``test`` users). The other service's
item at a user's final step is that service's concurrent target, so it is held out.

Protocols: the truth among 100 sampled items the user never touched, and full ranking over every
item of the target service (items seen before the test removed); MRR / HR@10 / NDCG@10, for all
test users and for the cold quarter (fewest target-service events before the test) apart.

Methods, in the same run on the same targets: popularity and last-item co-occurrence (id-based
baselines), and byod's zero-shot user features (mean of MiniLM event vectors, no training) with
the recommendation head (``mlp``, plus the previous item's text), the features built from the
target service alone (``zero-shot-one``) or from both services (``zero-shot-both``); and with
``--trained next-item`` (or ``next-item+ids``), byod's ``next-item`` encoder pretrained on the
``train`` users' timelines of the target service alone (``next-item-one``) or of both services
merged (``next-item-both``), or with the merged timeline as input and only the target service's
events as targets (``next-item-both-target``, ``views.target_services``), or merged with the
query told the next event's service (``-both-query``, ``encoder.service_query``; the test query
asks for the target service) and also a per-service softmax (``-both-query-within``,
``loss.within_service``), scoring the test users' next items itself (no head; one pretraining
seed, so its ± is over the negative samples only).

Run::

    PYTHONPATH=src .venv/bin/python bench/two_service.py \
        --data ../shared/data/amazon-arts-office --seeds 3 --out runs/bench-two-service

It prints mean ± std over seeds (negative sampling and head initialisation) and the ratios
both / one service and both / best baseline.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from byod.atomic import write_parquet
from byod.data.config import load_ingest_config
from byod.data.ingest import ingest
from byod.data.serialize import SerializeConfig, serialize
from byod.encoders.backbone import TextBackbone, open_backbone
from byod.encoders.cache import EmbeddingCache
from byod.encoders.user import UserEncoder
from byod.pretrain.run import PretrainConfig, baseline_encoder, pretrain
from byod.pretrain.trainer import TrainConfig
from byod.transfer.baselines import cooccurrence, popularity
from byod.transfer.nextitem import NextItemTask, evaluate_scores, model_scores, next_item_task
from byod.transfer.recommend import RecommendConfig, RecommendHead
from byod.transfer.run import FeatureSource, encoder_source, item_vectors
from peer_sasrec_timelines import sasrec_scores

CONFIG = Path(__file__).resolve().parents[1] / "examples" / "amazon" / "ingest.yaml"
METRICS = ["mrr", "hr@10", "ndcg@10"]
BASELINES = {"popularity": popularity, "cooccurrence": cooccurrence}
TRAINED = {"next-item": "off", "next-item+ids": "hashed"}  # variant -> item_ids
SCOPES = ("one", "both", "both-target", "both-query", "both-query-within")


def held_out_concurrent(events: pl.DataFrame, service: str) -> pl.DataFrame:
    """Drop the other service's events at each user's final step (that service's target)."""
    final = pl.col("step") == pl.col("step").max().over("user_id")
    return events.filter(~(final & (pl.col("service") != service)))


def interactions(events: pl.DataFrame, service: str) -> pl.DataFrame:
    """The target service's events as an interactions table (item text = event text)."""
    return events.filter(pl.col("service") == service).select(
        "user_id", "item_id", item_text="text", timestamp="timestamp", seq="seq"
    )


class HeadInputs:
    """User features + the previous item's text vector for targets of any roles."""

    def __init__(self, task: NextItemTask, features: FeatureSource, items: np.ndarray) -> None:
        self.task, self.features, self.items = task, features, items

    def __call__(self, targets: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``(n, d_user + d_item)`` inputs and ``(n,)`` target item indices."""
        # One row per user per call: the feature source cuts each user's events at one point.
        parts = targets.partition_by("role")
        x = [
            np.concatenate([self.features(p), self.items[self.task.previous_items(p)]], axis=1)
            for p in parts
        ]
        return np.concatenate(x), np.concatenate([p["index"].to_numpy() for p in parts])


def head_scores(
    task: NextItemTask,
    test_task: NextItemTask,
    inputs: HeadInputs,
    users: dict[str, list[str]],
    seed: int,
) -> np.ndarray:
    """Train the recommend head on ``train`` users, stop on ``valid`` users, score test users."""
    targets = task.targets
    fit = targets.filter(pl.col("user_id").is_in(users["train"]))
    stop = targets.filter(pl.col("user_id").is_in(users["valid"]) & (pl.col("role") == "test"))
    counts = np.bincount(task.history["index"].to_numpy(), minlength=task.items.height)
    fit_x, fit_y = inputs(fit)
    head = RecommendHead(RecommendConfig(kind="mlp", seed=seed)).fit(
        fit_x, fit_y, inputs.items, counts, valid=inputs(stop)
    )
    return head.score(inputs(test_task.test)[0])


def trained_scores(
    pool: pl.DataFrame,
    service: str,
    test_task: NextItemTask,
    users: dict[str, list[str]],
    variant: str,
    backbone: TextBackbone,
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> dict[str, np.ndarray]:
    """``next-item`` pretrained on ``train`` users (one service / both); test users' scores."""
    out = {}
    train_users = pool.filter(pl.col("user_id").is_in(users["train"]))
    one = train_users.filter(pl.col("service") == service)
    scopes = {  # scope -> (pretraining events, next-item view, encoder and loss options)
        "one": (one, {}, {}, {}),
        "both": (train_users, {}, {}, {}),
        # both services' events as inputs, only the target service's as targets
        "both-target": (train_users, {"target_services": [service]}, {}, {}),
        # the query is told the next event's service; plus a per-service softmax
        "both-query": (train_users, {}, {"service_query": True}, {}),
        "both-query-within": (train_users, {}, {"service_query": True}, {"within_service": True}),
    }
    for scope in args.scopes:
        events, views, encoder_options, loss_options = scopes[scope]
        t = time.perf_counter()
        histories = serialize(events, SerializeConfig(max_events=None))
        train = TrainConfig(epochs=args.epochs, batch_size=128, chunk_size=64, seed=0,
                            max_minutes=args.max_minutes)  # fmt: skip
        loss = {"negatives": args.negatives, "full_below": 0} if args.negatives else {}
        cfg = PretrainConfig(objective="next-item", backbone=args.backbone, item_ids=TRAINED[variant],
                             train=train, patience=3, loss=loss | loss_options, views=views,
                             encoder=encoder_options)  # fmt: skip
        model_dir = args.out / "models" / f"{service}-{variant}-{scope}"
        encoder, state = pretrain(
            histories,
            model_dir,
            cfg,
            backbone=backbone,
            vector_cache_dir=args.cache / "text-vectors",
            progress=False,
        )
        test_events = (
            pool if scope.startswith("both") else pool.filter(pl.col("service") == service)
        )
        out[f"{variant}-{scope}"] = model_scores(test_task, encoder, test_events, service)
        best = min(state.history, key=lambda h: h["val_loss"])
        say(f"  {service} {variant}-{scope}: {len(state.history)} epochs (best {best['epoch']}, "
            f"val loss {best['val_loss']:.3f}), {time.perf_counter() - t:.0f} s")  # fmt: skip
    return out


def peer_scores(
    pool: pl.DataFrame,
    service: str,
    test_task: NextItemTask,
    users: dict[str, list[str]],
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> dict[str, np.ndarray]:
    """RecBole SASRec trained on the ``train`` users' timelines (one service / both merged)."""
    out = {}
    for scope in args.sasrec:
        events = pool if scope == "both" else pool.filter(pl.col("service") == service)
        train = events.filter(pl.col("user_id").is_in(users["train"]))
        scores, run = sasrec_scores(train, events, test_task, f"{service}-{scope}",
                                    epochs=args.sasrec_epochs, patience=args.sasrec_patience,
                                    max_minutes=args.sasrec_max_minutes, threads=args.threads)  # fmt: skip
        out[f"sasrec-{scope}"] = scores
        say(f"  {service} sasrec-{scope}: {run['epochs_run']} epochs ({run['stopped_by']}), "
            f"train {run['train_s']:.0f} s, valid NDCG@10 {run['best_valid_ndcg@10']:.3f}; "
            f"{run['unknown_candidates']:,} of {test_task.items.height:,} candidates and "
            f"{run['n_users_without_known_input']} users' inputs unknown to it")  # fmt: skip
    return out


def run_service(
    events: pl.DataFrame,
    service: str,
    users: dict[str, list[str]],
    encoder: UserEncoder,
    backbone: TextBackbone,
    cache: EmbeddingCache,
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> pl.DataFrame:
    """Every method on one target service, ``args.seeds`` times; rows carry ``seed``."""
    pool = held_out_concurrent(events, service)
    inter = interactions(pool, service)
    base = next_item_task(inter, n_negatives=100, seed=0)
    items = item_vectors(base, backbone, cache, progress=True)
    inputs = {
        "zero-shot-one": HeadInputs(
            base, encoder_source(encoder, pool.filter(pl.col("service") == service)), items
        ),
        "zero-shot-both": HeadInputs(base, encoder_source(encoder, pool), items),
    }
    trained: dict[str, np.ndarray] = {}
    for variant in args.trained:  # one pretraining per variant: its scores do not depend on seed
        trained |= trained_scores(pool, service, base.subset(users["test"]), users, variant,
                                  backbone, args, say)  # fmt: skip
    trained |= peer_scores(pool, service, base.subset(users["test"]), users, args, say)
    rows = []
    for seed in range(args.seeds):
        t = time.perf_counter()
        task = base if seed == 0 else next_item_task(inter, n_negatives=100, seed=seed)
        test_task = task.subset(users["test"])
        scores = {name: fn(test_task) for name, fn in BASELINES.items()}
        for name, fn in inputs.items():
            scores[name] = head_scores(task, test_task, fn, users, seed)
        scores |= trained
        for name, s in scores.items():
            rows.append(evaluate_scores(test_task, s, name).with_columns(seed=pl.lit(seed)))
        say(f"  {service} seed {seed}: {time.perf_counter() - t:.0f} s")
    return pl.concat(rows).with_columns(service=pl.lit(service))


def summarize(results: pl.DataFrame) -> pl.DataFrame:
    """Mean ± std over seeds per (service, source, protocol, segment, metric)."""
    keys = ["service", "source", "protocol", "segment", "metric"]
    return (
        results.filter(pl.col("metric").is_in(METRICS) & pl.col("segment").is_in(["all", "cold"]))
        .group_by(keys, maintain_order=True)
        .agg(
            mean=pl.col("value").mean(),
            std=pl.col("value").std().fill_null(0.0),  # one seed: no spread
            n_seeds=pl.len(),
            n_users=pl.col("n_users").first(),
        )
    )


def print_tables(summary: pl.DataFrame) -> None:
    """One table per target service, then the ratios."""
    for service in summary["service"].unique(maintain_order=True):
        print(f"\n### next item in {service}\n")
        part = summary.filter(pl.col("service") == service)
        cols = [
            (p, g, m) for p in ("sampled-100", "full") for g in ("all", "cold") for m in METRICS
        ]
        head = " | ".join(f"{p} {g} {m}" for p, g, m in cols)
        print(f"| source | {head} |")
        print("|---|" + "---:|" * len(cols))
        for source in part["source"].unique(maintain_order=True):
            cells = []
            for p, g, m in cols:
                r = part.filter(
                    (pl.col("source") == source)
                    & (pl.col("protocol") == p)
                    & (pl.col("segment") == g)
                    & (pl.col("metric") == m)
                ).row(0, named=True)
                cells.append(f"{r['mean']:.4f} ± {r['std']:.4f}")
            print(f"| {source} | " + " | ".join(cells) + " |")
        n = part.filter(pl.col("segment") == "all")["n_users"][0]
        n_cold = part.filter(pl.col("segment") == "cold")["n_users"][0]
        print(f"\n{n} test users, {n_cold} cold; mean ± std over seeds")
        for p in ("sampled-100", "full"):
            for g in ("all", "cold"):
                mrr = {
                    r["source"]: r["mean"]
                    for r in part.filter(
                        (pl.col("protocol") == p)
                        & (pl.col("segment") == g)
                        & (pl.col("metric") == "mrr")
                    ).iter_rows(named=True)
                }
                best = max(BASELINES, key=lambda b: mrr[b])
                peer = mrr.get("sasrec-both")
                for key in [k for k in mrr if "-both" in k]:
                    method, scope = key.split("-both")[0], "both" + key.split("-both")[1]
                    one = mrr.get(f"{method}-one")
                    vs_one = f"{mrr[key] / one:.3f}" if one else "n/a"
                    vs_peer = f", / sasrec-both {mrr[key] / peer:.3f}" if peer else ""
                    print(
                        f"  {p:>11} {g:>4} MRR {method}: {scope} / one service {vs_one}, "
                        f"{scope} / {best} {mrr[key] / mrr[best]:.3f}{vs_peer}"
                    )


def main() -> None:
    """Ingest, run both target services, print and save the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/amazon-arts-office"))
    parser.add_argument("--services", nargs="+", default=["office", "arts"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "byod")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-two-service"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--users-per-split", type=int, default=None, help="smoke runs: only N users per split"
    )
    parser.add_argument("--trained", default="", help=f"comma-separated, of {list(TRAINED)}")
    parser.add_argument("--epochs", type=int, default=40, help="pretraining epochs (cap)")
    parser.add_argument("--max-minutes", type=float, default=None, help="pretraining wall cap")
    parser.add_argument("--negatives", type=int, default=1024,
                        help="next-item: a sampled softmax with N uniform negatives for every "
                             "table (0: byod's default, a full softmax up to 20,000 items)")  # fmt: skip
    parser.add_argument("--scopes", default="one,both,both-target",
                        help=f"--trained models, comma-separated, of {SCOPES}: one (target "
                             "service), both (merged timeline), both-target (merged inputs, "
                             "target-service targets), both-query (the query told the next "
                             "event's service), both-query-within (plus a per-service softmax)")  # fmt: skip
    parser.add_argument("--sasrec", default="",
                        help="peer: RecBole SASRec on the train users' timelines, comma-separated "
                             "of one,both (target service alone / both merged); see "
                             "bench/peer_sasrec_timelines.py")  # fmt: skip
    parser.add_argument("--sasrec-epochs", type=int, default=200, help="SASRec epoch cap")
    parser.add_argument("--sasrec-patience", type=int, default=10,
                        help="SASRec: epochs without a better validation NDCG@10 before it stops")  # fmt: skip
    parser.add_argument("--sasrec-max-minutes", type=float, default=30.0,
                        help="SASRec wall cap per model (minutes)")  # fmt: skip
    args = parser.parse_args()
    args.sasrec = [v for v in args.sasrec.split(",") if v]
    if set(args.sasrec) - {"one", "both"}:
        parser.error(f"--sasrec: unknown {sorted(set(args.sasrec) - {'one', 'both'})}")
    args.scopes = [v for v in args.scopes.split(",") if v]
    if set(args.scopes) - set(SCOPES):
        parser.error(f"--scopes: unknown {sorted(set(args.scopes) - set(SCOPES))}")
    args.trained = [v for v in args.trained.split(",") if v]
    unknown = set(args.trained) - set(TRAINED)
    if unknown:
        parser.error(f"--trained: unknown {sorted(unknown)}; choose from {list(TRAINED)}")
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    result = ingest(load_ingest_config(CONFIG, data_dir=args.data, out_dir=args.out))
    s = result.summary
    print(
        f"ingested {s['read']:,} rows: {s['accepted']:,} accepted, {s['rejected']:,} rejected, "
        f"{s['duplicates']:,} duplicates; {s['users']:,} users"
    )
    split = pl.read_csv(args.data / "split.csv")
    if args.users_per_split:  # a quick smoke run: the first N users of each split
        split = split.group_by("split", maintain_order=True).head(args.users_per_split)
    users = {
        k: split.filter(pl.col("split") == k)["reviewer_id"].to_list()
        for k in ("train", "valid", "test")
    }
    events = result.events.filter(pl.col("user_id").is_in(split["reviewer_id"].implode()))
    backbone = open_backbone(args.backbone, models_dir=args.cache / "models")
    cache = EmbeddingCache(args.cache / "text-vectors", backbone.fingerprint, backbone.dim)
    encoder = baseline_encoder("zero-shot", events.select("service").unique(), backbone)
    encoder.cache = cache
    frames = []
    for svc in args.services:  # each service's table as soon as it is done
        frames.append(run_service(events, svc, users, encoder, backbone, cache, args, print))
        results = pl.concat(frames)
        write_parquet(results, args.out / "two_service.parquet")
        print_tables(summarize(frames[-1]))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; rows in {args.out / 'two_service.parquet'}")


if __name__ == "__main__":
    main()
