"""Augmentation yield: labels scored over the label set vs labels parsed from the LM's text.

GPT3Mix as first written here parsed the label the LM wrote after each new text and dropped the
item when it was not one of the label words (after ``max_retries`` new samples). byod now cuts
the written label off and scores every label string instead, so only empty texts and copies of a
prompt example are dropped. Both run here on the same k-shot prompts (Rotten Tomatoes, 8 labels
per class, class-balanced examples), the same LLM and the same sampling seeds:

* **parsed** (the peer: GPT3Mix's free-text label): an item is kept when the written label is in
  the set (and the text is long enough and no copy), else resampled, up to ``max_retries``;
* **scored** (byod): :func:`byod.textlab.augment.augment`.

    python bench/augment_yield.py --n 16 --seeds 3
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import polars as pl

from byod.labels.datasets import rotten_tomatoes
from byod.textlab.augment import GenerationConfig, _balanced_examples, _by_label, augment
from byod.textlab.curve import sample_per_class
from byod.textlab.dedupe import fold_text
from byod.textlab.llm import open_llm
from byod.textlab.prompts import load_task
from byod.textlab.threads import step_threads

HOME = Path(os.environ.get("BYOD_HOME") or Path.home() / ".cache" / "byod")


def parsed_yield(llm, task, texts, labels, n: int, cfg: GenerationConfig, seed: int) -> dict:  # noqa: ANN001
    """Kept / attempts when the written label must parse into the label set (the old rule)."""
    pool = _by_label(texts, labels, task)
    kept = attempts = 0
    for i in range(n):
        examples = _balanced_examples(pool, cfg.k, np.random.default_rng([seed, i]))
        prompt = task.generation_prompt(examples)
        for attempt in range(cfg.max_retries + 1):
            out = llm.generate([prompt], max_new_tokens=cfg.max_new_tokens,
                               temperature=cfg.temperature, stop="\n",
                               seed=seed * 1_000_003 + i * 101 + attempt)[0]  # fmt: skip
            attempts += 1
            text, label = task.parse_item(out)
            copy = any(fold_text(text) == fold_text(t) for t, _ in examples)
            if label is not None and len(text) >= cfg.min_chars and not copy:
                kept += 1
                break
    return {"kept": kept, "attempts": attempts}


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--n", type=int, default=16, help="examples requested per seed")
    p.add_argument("--per-class", type=int, default=8)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--llm", default="smollm2")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    llm = open_llm(args.llm, llm_dir=HOME / "llm", threads=step_threads("llm"))
    df = rotten_tomatoes()
    task = load_task("rotten-tomatoes", labels=sorted(df["label"].unique().to_list()))
    cfg = GenerationConfig()
    rows = []
    for seed in range(args.seeds):
        idx = sample_per_class(df["label"].to_list(), args.per_class, seed)
        texts, labels = df["text"].gather(idx).to_list(), df["label"].gather(idx).to_list()
        old = parsed_yield(llm, task, texts, labels, args.n, cfg, seed)
        _, stats = augment(llm, task, texts, labels, n=args.n, config=cfg, seed=seed,
                           progress=False)  # fmt: skip
        rows.append({"seed": seed, "requested": args.n, "parsed_kept": old["kept"],
                     "parsed_attempts": old["attempts"], "scored_kept": stats.kept,
                     "scored_attempts": stats.attempts, "scored_dropped": str(dict(stats.dropped))})  # fmt: skip
        print(rows[-1], flush=True)  # a partial run still shows its finished seeds
    table = pl.DataFrame(rows)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200):
        print(table)
    for name in ("parsed", "scored"):
        share = table[f"{name}_kept"] / table["requested"]
        print(f"{name}: kept {share.mean():.3f} ± {share.std():.3f} of requested, "
              f"{(table[f'{name}_attempts'] / table['requested']).mean():.2f} attempts per item")  # fmt: skip
    ratio = table["scored_kept"].sum() / max(table["parsed_kept"].sum(), 1)
    print(f"scored / parsed kept: {ratio:.2f}x")


if __name__ == "__main__":
    main()
