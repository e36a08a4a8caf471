"""Transfer benchmark: frozen user features + heads against baselines, in one run on ML-1M.

Feature sources: majority / popularity, TF-IDF bag of items, item-kNN, last-item co-occurrence,
zero-shot event-text means, ``simclr`` trained on ONE service (the largest), ``clue`` trained on
ALL services. Tasks: gender (AUROC), age and occupation (accuracy), next item (HR@10 / NDCG@10,
100 sampled negatives and full ranking). Every trained encoder sees only events before each
user's validation target; next-item features come only from events before their target.

Run::

    .venv/bin/python bench/transfer.py --epochs 8 --out runs/bench-transfer

It prints the seeds' comparison tables (cells: metric and change vs majority / popularity), the
central claims as ratios, and writes the HTML report. SASRec numbers come from
``bench/peer_recbole.py --ours runs/bench-transfer/transfer/recommend.parquet``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl

from byod.data.builtin.movielens import load_movielens
from byod.demo import DemoConfig, EncoderSpec, run_transfer_chain
from byod.report import build_report, summary_markdown


def _largest_service(dataset: str) -> str:
    counts = load_movielens(dataset).events["service"].value_counts(sort=True)
    return counts["service"][0]


def _value(frame: pl.DataFrame, **where: str) -> float:
    rows = frame.filter(*[pl.col(k) == v for k, v in where.items()])
    return float(rows[rows.columns[-1] if "value" not in rows.columns else "value"][0])


def claims(out: Path) -> list[tuple[str, float, float]]:
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
        sel = dict(protocol="sampled-100", segment="all", metric=metric)
        best_simple = max(
            _value(rec, source=s, **sel) for s in ("popularity", "item-knn", "cooccurrence")
        )
        rows.append((f"next-item {metric} (100 neg.): clue vs best simple baseline",
                     _value(rec, source="clue-mlp", **sel), best_simple))  # fmt: skip
        rows.append((f"next-item {metric} (100 neg.): clue vs simclr",
                     _value(rec, source="clue-mlp", **sel),
                     _value(rec, source="simclr-mlp", **sel)))  # fmt: skip
    return rows


def main() -> None:
    """Run the comparison and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-transfer"))
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (1 when another job shares CPU)"
    )
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    service = _largest_service(args.dataset)
    config = DemoConfig(
        dataset=args.dataset,
        epochs=args.epochs,
        seeds=args.seeds,
        encoders=(
            EncoderSpec("clue", "clue"),
            EncoderSpec("simclr", "simclr", service=service),
            EncoderSpec("zero-shot", "zero-shot"),
        ),
        heads=("mlp", "dot"),
    )
    t0 = time.perf_counter()
    home = Path.home() / ".cache" / "byod"
    timings = run_transfer_chain(
        args.out, config, cache_dir=home / "text-vectors", models_dir=home / "models"
    )
    report = build_report(args.out)
    print(f"\nsimclr trains and embeds from service {service!r} only; clue from all services")
    print(summary_markdown(args.out))
    print("\n| claim | ours | reference | ratio |\n|---|---|---|---|")
    for claim, ours, ref in claims(args.out):
        print(f"| {claim} | {ours:.3f} | {ref:.3f} | {ours / ref:.3f} |")
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
    print(f"\nwall {time.perf_counter() - t0:.0f} s ({steps}); report {report.html}")


if __name__ == "__main__":
    main()
