"""Next-item heads with and without the previous item's text vector, on a trained model.

Same MovieLens split, negatives and head (mlp) for a trained encoder and the zero-shot mean of its
backbone's event vectors; prints HR@10 / NDCG@10 under both protocols, by segment. Run::

    .venv/bin/python bench/next_item_inputs.py --model runs/demo/models/clue

(``make demo`` leaves that model; ``--byod-home`` must hold its backbone and text cache.)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl

from byod.data.builtin.movielens import load_movielens
from byod.encoders.user import UserEncoder, UserEncoderConfig
from byod.transfer.nextitem import next_item_task
from byod.transfer.recommend import RecommendConfig
from byod.transfer.run import encoder_source, item_vectors, recommend_source


def main() -> None:
    """Train both head variants for both encoders and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--dataset", default="ml-1m", help="ml-1m or ml-100k")
    parser.add_argument("--byod-home", type=Path, default=Path.home() / ".cache" / "byod")
    parser.add_argument("--out", type=Path, default=Path("runs/next-item-inputs.parquet"))
    args = parser.parse_args()
    ml = load_movielens(args.dataset)
    task = next_item_task(ml.interactions)
    home = args.byod_home
    clue = UserEncoder.load(
        args.model, vector_cache_dir=home / "text-vectors", models_dir=home / "models"
    )
    zero_cfg = UserEncoderConfig(
        mode="mean", backbone=clue.config.backbone, objective="zero-shot",
        backbone_fingerprint=clue.config.backbone_fingerprint, services=clue.config.services,
        max_events=clue.config.max_events,
    )  # fmt: skip
    zero = UserEncoder(zero_cfg, clue.backbone, cache=clue.cache)
    items = item_vectors(task, clue.backbone, clue.cache)
    rows = []
    for name, encoder in (("clue", clue), ("zero-shot", zero)):
        source = encoder_source(encoder, ml.events)
        for last in (False, True):
            t = time.perf_counter()
            label = f"{name}-mlp{' + previous item' if last else ''}"
            config = RecommendConfig(kind="mlp", last_item=last)
            result, head = recommend_source(task, label, source, items, config)
            print(f"{label}: {time.perf_counter() - t:.0f} s, {len(head.history_)} epochs")
            rows.append(result)
    out = pl.concat(rows)
    out.write_parquet(args.out)
    keep = pl.col("metric").is_in(["hr@10", "ndcg@10"])
    with pl.Config(tbl_rows=100, float_precision=3, tbl_width_chars=200, fmt_str_lengths=40):
        print(out.filter(keep).pivot(on=["protocol", "segment"], index=["source", "metric"],
                                     values="value"))  # fmt: skip


if __name__ == "__main__":
    main()
