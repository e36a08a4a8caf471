"""Which HyperMatch signal carries the gain: head variants on the same cached inputs.

Rotten Tomatoes, the bench/hypermatch.py split (1,000 test, N unlabelled), 8 labels per class,
SmolLM2's zero-shot calibrated soft labels of the unlabelled texts (read from the bench's LLM
cache; scored here when missing), token-dropout strong views. Every variant trains the same
linear head on frozen MiniLM vectors; only the losses differ.

    python bench/hypermatch_ablation.py --unlabelled 1000 --seeds 5
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import polars as pl
import torch
from threadpoolctl import threadpool_limits

from byod.encoders.cache import EmbeddingCache
from byod.labels.datasets import TEXT_SETS
from byod.textlab.curve import sample_per_class
from byod.textlab.hypermatch import encode_texts
from byod.textlab.jsonl_cache import JsonlCache
from byod.textlab.llm import open_llm
from byod.textlab.metrics import METRICS, classification_scores
from byod.textlab.prompts import load_task
from byod.textlab.pseudolabel import prob_columns, pseudolabel
from byod.textlab.semisup import HyperMatchHead, SSLConfig, token_dropout
from byod.transfer.heads import LogisticHead
from hypermatch import split

from common import backbone as open_bb

HOME = Path(os.environ.get("BYOD_HOME") or Path.home() / ".cache" / "byod")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--unlabelled", type=int, default=1000)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--shots", type=int, default=8)
    p.add_argument(
        "--cache",
        type=Path,
        default=Path("runs/bench-hypermatch/llm-rotten-tomatoes-smollm2.jsonl"),
    )
    args = p.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    torch.set_num_threads(1)
    bb = open_bb("minilm")
    vc = EmbeddingCache(HOME / "text-vectors", bb.fingerprint, bb.dim)
    df = TEXT_SETS["rotten-tomatoes"]()
    test, unl, pool = split(df, 1000, args.unlabelled)
    task = load_task("rotten-tomatoes", labels=["fresh", "rotten"])
    enc = lambda t: encode_texts(list(t), bb, vc)  # noqa: E731
    xt, yt = enc(test["text"]), test["label"].to_numpy()
    xp, yp = enc(pool["text"]), pool["label"].to_list()
    xu = enc(unl["text"])
    rng = np.random.default_rng(0)
    xs = np.stack([enc(token_dropout(unl["text"].to_list(), 0.2, rng)) for _ in range(2)])
    llm = open_llm("smollm2", llm_dir=HOME / "llm")
    soft = pseudolabel(llm, task, unl["text"].to_list(), cache=JsonlCache(args.cache))
    p_llm = soft.select(prob_columns(task)).to_numpy()
    print(
        f"teacher on the unlabelled texts: {(soft['label'].to_numpy() == unl['label'].to_numpy()).mean():.3f}"
    )
    unl_views = {"x_weak": xu, "x_strong": xs}
    variants = {
        "head (labels only)": (SSLConfig(), {}),
        "+ FixMatch, no LLM": (SSLConfig(), unl_views),
        "+ LLM distillation": (SSLConfig(unlabelled_weight=0), {**unl_views, "p_llm": p_llm}),
        "+ distillation + FixMatch (default)": (SSLConfig(), {**unl_views, "p_llm": p_llm}),
        "default, standardised features": (
            SSLConfig(standardize=True),
            {**unl_views, "p_llm": p_llm},
        ),
    }
    rows = []
    for seed in range(args.seeds):
        idx = sample_per_class(yp, args.shots, seed)
        x, y = xp[idx], np.asarray(yp)[idx]
        with threadpool_limits(1):
            rows.append(
                {
                    "variant": "logistic regression (supervised)",
                    "seed": seed,
                    **classification_scores(yt, LogisticHead().fit(x, y).predict(xt)),
                }
            )
        for name, (cfg, kw) in variants.items():
            head = HyperMatchHead(cfg, seed=seed).fit(x, y, classes=np.array(task.labels), **kw)
            rows.append(
                {"variant": name, "seed": seed, **classification_scores(yt, head.predict(xt))}
            )
    table = (
        pl.DataFrame(rows)
        .group_by("variant", maintain_order=True)
        .agg(
            *(pl.col(m).mean().alias(m) for m in METRICS),
            *(pl.col(m).std().alias(f"{m}_std") for m in METRICS),
        )
    )
    print(table)


if __name__ == "__main__":
    main()
