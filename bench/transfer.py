"""Transfer benchmark: frozen user features + heads against tuned baselines, on MovieLens.

Two suites.

``--suite attributes`` (default): gender / age / occupation from feature blocks (zero-shot text
mean, SVD of the TF-IDF bag of items, aggregates, the ``clue`` vector) and their concatenations,
against logistic regression on the L2 TF-IDF bag of items. Every source is tuned the same way:
``C`` by stratified 5-fold CV over 1e-3 .. 1e2 on each split's training users only, 5 user
splits, mean ± std, ratios against tuned TF-IDF. The SVD block and ``clue`` are fitted on the
training side only (events before every user's validation target)::

    .venv/bin/python bench/transfer.py --suite attributes --clue-epochs 10 --out runs/bench-blocks

``--suite chain``: the demo's whole chain through ``byod.pipeline`` (``clue`` on all services,
``simclr`` on one, zero-shot) with next-item heads; SASRec numbers come from
``bench/peer_recbole.py --ours runs/bench-transfer/transfer/recommend.parquet``::

    .venv/bin/python bench/transfer.py --suite chain --epochs 8 --out runs/bench-transfer
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from byod.data.builtin.movielens import load_movielens
from byod.data.serialize import SerializeConfig, serialize
from byod.demo import PROFILES, prepare_demo
from byod.encoders.backbone import open_backbone
from byod.encoders.cache import EmbeddingCache
from byod.features.blocks import BlockLayout, compute_blocks, text_mean_block
from byod.pipeline import EncoderSpec, RunLayout, run_pipeline
from byod.pretrain.run import PretrainConfig, baseline_encoder, pretrain
from byod.report import summary_markdown
from byod.transfer.baselines import bag_of_items
from byod.transfer.nextitem import events_before_targets, next_item_task
from byod.transfer.run import classify_source


def _largest_service(dataset: str) -> str:
    counts = load_movielens(dataset).events["service"].value_counts(sort=True)
    return counts["service"][0]


def _value(frame: pl.DataFrame, **where: str) -> float:
    rows = frame.filter(*[pl.col(k) == v for k, v in where.items()])
    return float(rows[rows.columns[-1] if "value" not in rows.columns else "value"][0])


def claims(out: Path, n_negatives: int = 100) -> list[tuple[str, float, float]]:
    """(claim, ours, reference) for the issue's quality goals."""
    cls = pl.read_parquet(out / "transfer" / "classify.parquet").rename({"mean": "value"})
    rec = pl.read_parquet(out / "transfer" / "recommend.parquet")
    g = dict(task="gender", metric="auroc")
    best_simple_gender = max(_value(cls, source=s, head="logistic", **g) for s in ("tfidf-items",))
    rows = [
        ("gender AUROC: clue vs best simple baseline",
         _value(cls, source="clue", head="logistic", **g), best_simple_gender),
        ("gender AUROC: clue vs simclr (one service)",
         _value(cls, source="clue", head="logistic", **g),
         _value(cls, source="simclr", head="logistic", **g)),
    ]  # fmt: skip
    for metric in ("hr@10", "ndcg@10"):
        sel = dict(protocol=f"sampled-{n_negatives}", segment="all", metric=metric)
        best_simple = max(
            _value(rec, source=s, **sel) for s in ("popularity", "item-knn", "cooccurrence")
        )
        rows.append((f"next-item {metric} ({n_negatives} neg.): clue vs best simple baseline",
                     _value(rec, source="clue-mlp", **sel), best_simple))  # fmt: skip
        rows.append((f"next-item {metric} ({n_negatives} neg.): clue vs simclr",
                     _value(rec, source="clue-mlp", **sel),
                     _value(rec, source="simclr-mlp", **sel)))  # fmt: skip
    return rows


TASKS = ["gender", "age", "occupation"]
GOALS = {"gender": 0.88, "age": 0.54, "occupation": 0.22}


def training_side(events: pl.DataFrame, interactions: pl.DataFrame) -> pl.DataFrame:
    """Events before each user's validation target (users without one: all their events)."""
    valid = next_item_task(interactions).role("valid").select("user_id", "timestamp", "seq")
    before = events_before_targets(events, valid)
    return pl.concat([before, events.join(valid.select("user_id"), on="user_id", how="anti")])


def _aligned(table: pl.DataFrame, ids: list[str]) -> np.ndarray:
    order = pl.DataFrame({"user_id": ids}).join(table, on="user_id", how="left")
    return np.stack(order["vector"].to_numpy()).astype(np.float32)


def build_matrices(
    dataset: str,
    home: Path,
    clue_epochs: int,
    out: Path,
    say: Callable[[str], None],
    needs: set[str],
) -> tuple[dict[str, np.ndarray], list[str], pl.DataFrame]:
    """The blocks ``needs`` names (and the learned / baseline vectors), for the labelled users."""
    ml = load_movielens(dataset)
    ids = ml.labels["user_id"].unique().sort().to_list()
    mats: dict[str, np.ndarray] = {}
    if "tfidf" in needs:
        mats["tfidf"] = bag_of_items(ml.events, ids)
    if not needs - {"tfidf"}:
        return mats, ids, ml.labels
    train_events = training_side(ml.events, ml.interactions)
    backbone = open_backbone("minilm", models_dir=home / "models")
    cache = EmbeddingCache(home / "text-vectors", backbone.fingerprint, backbone.dim)
    t = time.perf_counter()
    wanted = [n for n in ("zero-shot", "svd", "aggregates") if n in needs]
    blocks = compute_blocks(
        ml.events, ids, wanted, backbone=backbone, cache=cache, fit_events=train_events,
        progress=True,
    )  # fmt: skip
    mats.update({name: values for name, (values, _) in blocks.items()})
    if "zero-shot-raw" in needs:
        mats["zero-shot-raw"] = text_mean_block(ml.events, ids, backbone, cache, whiten=False)
    say(f"blocks {wanted} in {time.perf_counter() - t:.0f} s")
    full = (
        serialize(ml.events, SerializeConfig(max_events=256))
        if {"zero-shot-64", "learned"} & needs
        else None
    )
    if "zero-shot-64" in needs:  # byod's zero-shot source so far: last 64 events per service
        encoder = baseline_encoder("zero-shot", full, backbone)
        encoder.cache = cache
        mats["zero-shot-64"] = _aligned(encoder.encode(full), ids)
    if "learned" in needs and clue_epochs > 0:
        t = time.perf_counter()
        cfg = PretrainConfig(objective="clue").with_overrides(epochs=clue_epochs)
        hist = serialize(train_events, SerializeConfig(max_events=256))
        encoder, _ = pretrain(
            hist,
            out / "models" / "clue",
            cfg,
            backbone=backbone,
            vector_cache_dir=home / "text-vectors",
        )
        mats["learned"] = _aligned(encoder.encode(full), ids)
        say(f"clue: {clue_epochs} epochs + embedding in {time.perf_counter() - t:.0f} s")
    return mats, ids, ml.labels


# source name -> (blocks, scaling); "learned" is the clue vector
SOURCES: dict[str, tuple[tuple[str, ...], str]] = {
    "tfidf-items (tuned)": (("tfidf",), "none"),
    "zero-shot (64/service, as before)": (("zero-shot-64",), "column"),
    "zero-shot raw full mean": (("zero-shot-raw",), "block"),
    "zero-shot whitened full": (("zero-shot",), "block"),
    "clue": (("learned",), "block"),
    "svd": (("svd",), "block"),
    "aggregates": (("aggregates",), "column"),
    "svd+aggregates": (("svd", "aggregates"), "auto"),
    "zero-shot+svd": (("zero-shot", "svd"), "auto"),
    "zero-shot+svd+aggregates": (("zero-shot", "svd", "aggregates"), "auto"),
    "zero-shot+svd+aggregates (per-column)": (("zero-shot", "svd", "aggregates"), "column"),
    "clue+svd": (("learned", "svd"), "auto"),
    "clue+svd+aggregates": (("learned", "svd", "aggregates"), "auto"),
    "clue+zero-shot+svd+aggregates": (("learned", "zero-shot", "svd", "aggregates"), "auto"),
}


def evaluate(
    mats: dict[str, np.ndarray],
    ids: list[str],
    labels: pl.DataFrame,
    sources: list[str],
    seeds: int,
    say: Callable[[str], None],
) -> pl.DataFrame:
    """Classification rows for every named source whose blocks exist."""
    rows = []
    for name in sources:
        names, scaling = SOURCES[name]
        if any(n not in mats for n in names):
            say(f"{name}: skipped (no {[n for n in names if n not in mats]})")
            continue
        t = time.perf_counter()
        if names == ("tfidf",):
            X, spec = mats["tfidf"], None  # noqa: N806 (sparse: no scaling)
        else:
            layout = BlockLayout.build([(n, n, mats[n].shape[1], ()) for n in names])
            X = np.concatenate([mats[n] for n in names], axis=1)  # noqa: N806
            spec = layout.spec()
            if scaling != "auto":
                spec = tuple((off, dim, scaling) for off, dim, _ in spec)
        rows.append(classify_source(name, ids, X, labels, TASKS, ["logistic"],
                                    n_seeds=seeds, blocks=spec))  # fmt: skip
        say(f"{name} ({X.shape[1]} dims) in {time.perf_counter() - t:.0f} s")
        print(table(rows[-1], baseline=None), flush=True)  # each source as soon as it is done
    return pl.concat(rows)


def table(results: pl.DataFrame, baseline: str | None = "tfidf-items (tuned)") -> str:
    """Markdown: sources x tasks, mean ± std and the ratio to ``baseline`` (when it is there)."""
    main = {"gender": "auroc", "age": "accuracy", "occupation": "accuracy"}
    res = pl.concat(
        [results.filter((pl.col("task") == t) & (pl.col("metric") == m)) for t, m in main.items()]
    )
    base = {}
    if baseline is not None:
        base = {
            r["task"]: r["mean"]
            for r in res.filter(pl.col("source") == baseline).iter_rows(named=True)
        }  # noqa: E501
    lines = ["| source | gender AUROC | age acc. | occupation acc. |", "|---|---:|---:|---:|"]
    for source in res["source"].unique(maintain_order=True):
        cells = []
        for task in main:
            row = res.filter((pl.col("source") == source) & (pl.col("task") == task))
            mean, std = row["mean"][0], row["std"][0]
            ratio = f" ({mean / base[task]:.3f}x)" if task in base else ""
            cells.append(f"{mean:.3f} ± {std:.3f}{ratio}")
        lines.append(f"| {source} | " + " | ".join(cells) + " |")
    goal = " / ".join(f"{t} {v}" for t, v in GOALS.items())
    lines.append(f"\n(ratios vs {baseline}; goals: {goal})" if base else "")
    return "\n".join(lines)


def chain(args: argparse.Namespace, home: Path) -> None:
    """The demo's chain through ``byod.pipeline`` with next-item heads (``--suite chain``)."""
    import dataclasses

    service = _largest_service(args.dataset)
    config = dataclasses.replace(
        PROFILES["full"].pipeline,
        epochs=args.epochs,
        seeds=args.seeds,
        encoders=(
            EncoderSpec("clue", "clue", classify_heads=("logistic", "mlp")),
            EncoderSpec("simclr", "simclr", service=service),
            EncoderSpec("zero-shot", "zero-shot"),
        ),
        recommend_heads=("mlp", "dot"),
    )
    t0 = time.perf_counter()
    layout = RunLayout(args.out)
    prepare_demo(args.dataset, layout)  # MovieLens as logs, ingested: what the demo runs on
    result = run_pipeline(
        config,
        layout,
        progress=True,
        vector_cache_dir=home / "text-vectors",
        models_dir=home / "models",
    )
    print(f"\nsimclr trains and embeds from service {service!r} only; clue from all services")
    print(summary_markdown(args.out))
    print("\n| claim | ours | reference | ratio |\n|---|---|---|---|")
    for claim, ours, ref in claims(args.out, config.n_negatives):
        print(f"| {claim} | {ours:.3f} | {ref:.3f} | {ours / ref:.3f} |")
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in result.timings.items())
    print(f"\nwall {time.perf_counter() - t0:.0f} s ({steps}); report {result.report}")


def attributes(args: argparse.Namespace, home: Path) -> None:
    """Feature blocks vs tuned TF-IDF on the attribute tasks (``--suite attributes``)."""
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f} s] {msg}", flush=True)

    sources = [s.strip() for s in args.sources.split(";")] if args.sources else list(SOURCES)
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise SystemExit(f"unknown sources {unknown}; choose from {list(SOURCES)}")
    needs = {n for s in sources for n in SOURCES[s][0]}
    mats, ids, labels = build_matrices(args.dataset, home, args.clue_epochs, args.out, say, needs)
    results = evaluate(mats, ids, labels, sources, args.seeds, say)
    args.out.mkdir(parents=True, exist_ok=True)
    results.write_parquet(args.out / "classify.parquet")
    print(f"\n{args.dataset}, {args.seeds} seeds, clue {args.clue_epochs} epochs\n")
    print(table(results))
    print(f"\nwall {time.perf_counter() - t0:.0f} s; rows in {args.out / 'classify.parquet'}")


def main() -> None:
    """Run the chosen suite and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", choices=["attributes", "chain"], default="attributes")
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--epochs", type=int, default=8, help="chain: pretraining epochs")
    parser.add_argument(
        "--clue-epochs", type=int, default=10, help="attributes: clue epochs (0: no clue)"
    )
    parser.add_argument("--sources", default=None, help="attributes: ';'-separated subset")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-transfer"))
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (1 when another job shares CPU)"
    )
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    home = Path(os.environ.get("BYOD_HOME", Path.home() / ".cache" / "byod"))
    (attributes if args.suite == "attributes" else chain)(args, home)


if __name__ == "__main__":
    main()
