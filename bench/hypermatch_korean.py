"""Korean HyperMatch example: chatterbot-corpus topics + Qwen2.5-0.5B-written Korean data.

The only labelled Korean text that installs offline is chatterbot-corpus's 19 topic files (first
utterance of each conversation; machine-translated style). The topics with >= 30 rows are kept;
half of each topic is the test set, the rest the pool the few labels and the unlabelled texts
come from. The LLM writes Korean examples from the Korean topic names alone (zero data,
``byod text generate``), soft-labelled and deduplicated, and reads calibrated soft labels for the
unlabelled texts; the encoder is multilingual-e5-small (MiniLM cannot read Hangul).

    python bench/hypermatch_korean.py --shots 4 --seeds 3
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from byod.encoders.backbone import open_backbone
from byod.encoders.cache import EmbeddingCache
from byod.labels.datasets import korean_topics
from byod.textlab.augment import generate
from byod.textlab.curve import sample_per_class
from byod.textlab.dedupe import dedupe
from byod.textlab.hypermatch import HyperMatchConfig, encode_texts, fit_hypermatch
from byod.textlab.jsonl_cache import JsonlCache
from byod.textlab.llm import open_llm
from byod.textlab.prompts import load_task
from byod.textlab.pseudolabel import prob_columns, pseudolabel
from byod.textlab.semisup import HyperMatchHead, SSLConfig
from byod.transfer.heads import LogisticHead

HOME = Path(os.environ.get("BYOD_HOME") or Path.home() / ".cache" / "byod")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--shots", type=int, default=4)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--min-rows", type=int, default=30)
    p.add_argument("--generate", type=int, default=8, help="LLM texts per topic")
    p.add_argument("--llm", default="qwen2.5-0.5b")
    p.add_argument("--backbone", default="e5-small")
    p.add_argument("--out", type=Path, default=Path("runs/bench-hypermatch-korean"))
    args = p.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    args.out.mkdir(parents=True, exist_ok=True)
    df = korean_topics(min_rows=args.min_rows).sample(fraction=1.0, shuffle=True, seed=12345)
    labels = sorted(df["label"].unique().to_list())
    task = load_task("korean-topics", labels=labels)
    test = df.group_by("label").map_groups(lambda g: g[: g.height // 2])
    pool = df.filter(~pl.col("text").is_in(test["text"].implode()))
    bb = open_backbone(args.backbone, models_dir=HOME / "models")
    vcache = EmbeddingCache(HOME / "text-vectors", bb.fingerprint, bb.dim)
    llm = open_llm(args.llm, llm_dir=HOME / "llm")
    cache = JsonlCache(args.out / f"llm-{args.llm}.jsonl")
    x_test, y_test = encode_texts(test["text"].to_list(), bb, vcache), test["label"].to_numpy()
    gen, stats = generate(llm, task, n_per_label=args.generate, cache=cache)
    keep, dup = dedupe(
        gen["text"].to_list(),
        encode_texts(gen["text"].to_list(), bb, vcache),
        reference=df["text"].to_list(),
        reference_vectors=encode_texts(df["text"].to_list(), bb, vcache),
    )
    gen = gen.filter(pl.Series(keep))
    print(f"generated: {stats.as_dict()}, duplicates {dup}; kept {gen.height}")
    print(gen.select("lm_label", "label", "confidence", "text").head(12))
    x_gen, p_gen = (
        encode_texts(gen["text"].to_list(), bb, vcache),
        gen.select(prob_columns(task)).to_numpy(),
    )
    acc = lambda pred: float((np.asarray(pred) == y_test).mean())  # noqa: E731
    rows = []
    for seed in range(args.seeds):
        idx = sample_per_class(pool["label"].to_list(), args.shots, seed)
        lab = pool[idx]
        unl = pool.filter(~pl.col("text").is_in(lab["text"].implode()))["text"].to_list()
        x_lab, y_lab = encode_texts(lab["text"].to_list(), bb, vcache), lab["label"].to_numpy()
        with threadpool_limits(1):
            rows.append(
                {
                    "method": "supervised (e5 + LR)",
                    "seed": seed,
                    "accuracy": acc(LogisticHead().fit(x_lab, y_lab).predict(x_test)),
                }
            )
        head = HyperMatchHead(SSLConfig(), seed=seed).fit(
            x_lab, y_lab, x_aug=x_gen, p_aug=p_gen, classes=np.asarray(labels)
        )
        rows.append(
            {
                "method": "+ LLM-generated Korean data",
                "seed": seed,
                "accuracy": acc(head.predict(x_test)),
            }
        )
        res = fit_hypermatch(
            lab["text"].to_list(),
            lab["label"].to_list(),
            unl,
            task=task,
            backbone=bb,
            llm=llm,
            config=HyperMatchConfig(augment_ratio=0),
            seed=seed,
            llm_cache=cache,
            vector_cache=vcache,
        )
        rows.append(
            {
                "method": "hypermatch (pseudo-labels + consistency)",
                "seed": seed,
                "accuracy": acc(res.head.predict(x_test)),
                "teacher": json.dumps(res.info.get("teacher")),
            }
        )
    teacher = pseudolabel(llm, task, test["text"].to_list(), cache=cache)
    for seed in range(args.seeds):  # the LLM itself, zero-shot and calibrated, on the test set
        rows.append({"method": f"LLM zero-shot ({args.llm})", "seed": seed,
                     "accuracy": acc(teacher["label"].to_numpy())})  # fmt: skip
    print("teacher checks:", [r["teacher"] for r in rows if "teacher" in r])
    table = (
        pl.DataFrame([{k: v for k, v in r.items() if k != "teacher"} for r in rows])
        .group_by("method", maintain_order=True)
        .agg(mean=pl.col("accuracy").mean(), std=pl.col("accuracy").std())
    )
    print(
        f"Korean topics: {len(labels)} topics {labels}, {test.height} test, {pool.height} pool, {args.shots} labels per topic"
    )
    print(table)
    (args.out / "results.json").write_text(
        json.dumps(
            {
                "rows": rows,
                "generation": stats.as_dict(),
                "duplicates": dup,
                "labels": labels,
                "n_test": test.height,
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
