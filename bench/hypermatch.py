"""HyperMatch against supervised-only and SetFit: same data, same backbone, same run.

For each text set a fixed split (seed 12345): a test set, an unlabelled in-domain pool (its labels
only measure the LLM's pseudo-labels) and a training pool the few labels are drawn from
(class-balanced, one draw per seed). Methods, all on the same sentence encoder:

* supervised: frozen encoder + logistic regression (C by cross-validation), labelled data only;
* setfit: SetFit 1.2.0 (contrastive fine-tuning + logistic head) in its own venv (peer_setfit.py);
* ssl: HyperMatch head with consistency on the unlabelled pool, no LLM;
* hypermatch: + LLM augmentation (soft labels) + calibrated LLM pseudo-labels;
* full: logistic regression on the whole training pool (the "fully supervised" reference).

Then a data-performance curve (supervised vs hypermatch) and the labels each needs to come within
2 points of full supervision; an HTML report with the curve. Mean ± std over seeds, never best.

    python bench/hypermatch.py --quick                       # RT only, 3 seeds, no SetFit
    python bench/hypermatch.py --llm smollm2 --seeds 5       # both sets, SetFit included
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from byod.atomic import write_json
from byod.encoders.cache import EmbeddingCache
from byod.labels.datasets import TEXT_SETS
from byod.textlab.curve import (
    curve_methods,
    curve_report,
    full_supervision,
    run_curve,
    sample_per_class,
)
from byod.textlab.curve import supervised_predict as supervised
from byod.textlab.hypermatch import HyperMatchConfig, encode_texts, fit_hypermatch
from byod.textlab.jsonl_cache import JsonlCache
from byod.textlab.llm import open_llm
from byod.textlab.metrics import METRICS, classification_scores, headline_metric
from byod.textlab.prompts import load_task
from hypermatch_tables import NAMES, curve_lines, method_table

from common import backbone as open_bb

sys.path.insert(0, str(Path(__file__).parent))

HOME = Path(os.environ.get("BYOD_HOME") or Path.home() / ".cache" / "byod")


def split(
    df: pl.DataFrame, n_test: int, n_unl: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    df = df.sample(fraction=1.0, shuffle=True, seed=12345)
    return df[:n_test], df[n_test : n_test + n_unl], df[n_test + n_unl :]


def run_set(name: str, args: argparse.Namespace, bb, llm, out: Path) -> dict:  # noqa: ANN001
    df = TEXT_SETS[name]()
    test, unl, pool = split(df, args.test, args.unlabelled)
    labels = sorted(df["label"].unique().to_list())
    task = load_task(name, labels=labels)
    vcache = EmbeddingCache(HOME / "text-vectors", bb.fingerprint, bb.dim)
    llm_cache = JsonlCache(out / f"llm-{name}-{llm.name if llm else 'none'}.jsonl")
    enc = lambda texts: encode_texts(list(texts), bb, vcache)  # noqa: E731
    x_test, x_pool = enc(test["text"]), enc(pool["text"])
    y_test = test["label"].to_numpy()
    pool_texts, pool_labels = pool["text"].to_list(), pool["label"].to_list()
    unl_texts = unl["text"].to_list()
    cfg = HyperMatchConfig(augment_max=args.augment_max)
    acc = lambda pred: classification_scores(y_test, pred)  # noqa: E731
    rows, info = [], {}
    full = full_supervision(x_pool, pool_labels, x_test, y_test)
    for seed in range(args.seeds):
        idx = sample_per_class(pool_labels, args.shots, seed)
        texts, ys = [pool_texts[i] for i in idx], [pool_labels[i] for i in idx]
        t0 = time.time()
        rows.append(
            {
                "method": "supervised",
                "seed": seed,
                **acc(supervised(x_pool[idx], ys, x_test)),
                "fit_s": time.time() - t0,
            }
        )
        t0 = time.time()
        ssl = fit_hypermatch(
            texts,
            ys,
            unl_texts,
            task=task,
            backbone=bb,
            llm=None,
            config=dataclasses.replace(cfg, consistency_without_llm=True),
            seed=seed,
            vector_cache=vcache,
            progress=False,
        )
        rows.append(
            {
                "method": "ssl (no LLM)",
                "seed": seed,
                **acc(ssl.head.predict(x_test)),
                "fit_s": time.time() - t0,
            }
        )
        if llm is not None:
            t0 = time.time()
            hm = fit_hypermatch(
                texts,
                ys,
                unl_texts,
                task=task,
                backbone=bb,
                llm=llm,
                config=cfg,
                seed=seed,
                llm_cache=llm_cache,
                vector_cache=vcache,
            )
            rows.append(
                {
                    "method": "hypermatch",
                    "seed": seed,
                    **acc(hm.head.predict(x_test)),
                    "fit_s": time.time() - t0,
                }
            )
            info[f"seed{seed}"] = hm.info
        if args.setfit:
            res = cached_setfit(
                list(zip(texts, ys, strict=True)),
                list(zip(test["text"].to_list(), y_test.tolist(), strict=True)),
                backbone=str(HOME / "models" / args.backbone),
                seed=seed,
                out_dir=out / f"setfit-{name}-{seed}",
                threads=args.threads,
            )
            rows.append(
                {
                    "method": "setfit",
                    "seed": seed,
                    **_setfit_scores(res),
                    "fit_s": res["fit_s"],
                }
            )
        print(pl.DataFrame(rows).filter(pl.col("seed") == seed), flush=True)
    if llm is not None:  # how good the LLM's (zero-shot, calibrated) pseudo-labels are
        from byod.textlab.pseudolabel import pseudolabel

        pl_frame = pseudolabel(llm, task, unl_texts, cache=llm_cache, progress=False)
        info["llm_pseudolabel_accuracy"] = float(
            (pl_frame["label"].to_numpy() == unl["label"].to_numpy()).mean()
        )
        raw = pseudolabel(llm, task, unl_texts, cache=llm_cache, progress=False, calibrated=False)
        info["llm_pseudolabel_accuracy_uncalibrated"] = float(
            (raw["label"].to_numpy() == unl["label"].to_numpy()).mean()
        )
        if args.teacher:  # the LLM itself on the test set (zero-shot, calibrated): the teacher
            t0 = time.time()
            teacher = pseudolabel(llm, task, test["text"].to_list(), cache=llm_cache)
            for seed in range(args.seeds):  # seed-independent; repeated so the table lines up
                rows.append(
                    {
                        "method": f"LLM zero-shot ({llm.name}, teacher)",
                        "seed": seed,
                        **acc(teacher["label"].to_numpy()),
                        "fit_s": time.time() - t0,
                    }
                )
    info["ood_selection"] = ood_selection(
        name, unl_texts, texts_for_selection(pool, args.shots), bb, vcache
    )
    methods = curve_methods(x_test, unl_texts, task=task, backbone=bb, llm=llm,
                            config=dataclasses.replace(cfg, augment_max=args.curve_augment_max),
                            llm_cache=llm_cache, vector_cache=vcache)  # fmt: skip
    curve = run_curve(methods, pool_texts, pool_labels, y_test, budgets=args.budgets,
                      seeds=range(args.curve_seeds))  # fmt: skip
    return {
        "set": name,
        "rows": rows,
        "full_supervised": full,
        "headline": headline_metric(y_test),
        "info": info,
        "curve": curve.to_dicts(),
        "n_test": len(test),
        "n_unlabelled": len(unl),
        "n_pool": len(pool),
    }


def cached_setfit(train: list, test: list, *, out_dir: Path, **kwargs) -> dict:  # noqa: ANN003
    """SetFit, or its earlier result when this out_dir already scored the same train / test rows."""
    from peer_setfit import run_setfit, write_jsonl

    done = out_dir / "result.json"
    if done.exists() and (out_dir / "train.jsonl").exists() and (out_dir / "test.jsonl").exists():
        same = True
        for rows, name in ((train, "train.jsonl"), (test, "test.jsonl")):
            probe = out_dir / f"probe-{name}"
            write_jsonl(rows, probe)
            same &= probe.read_bytes() == (out_dir / name).read_bytes()
            probe.unlink()
        if same:
            return json.loads(done.read_text())
    return run_setfit(train, test, out_dir=out_dir, **kwargs)


def texts_for_selection(pool: pl.DataFrame, shots: int) -> pl.DataFrame:
    idx = sample_per_class(pool["label"].to_list(), shots, 0)
    return pool[idx]


def ood_selection(name: str, unl_texts: list[str], labelled: pl.DataFrame, bb, vcache) -> dict:  # noqa: ANN001
    """How well each selector separates this set's unlabelled texts from another set's texts."""
    from byod.textlab.select import select_by_classifier, select_by_retrieval

    other = next(n for n in ("news-sources", "rotten-tomatoes") if n != name)
    ood = (
        TEXT_SETS[other]()["text"]
        .sample(n=len(unl_texts), seed=0, with_replacement=False)
        .to_list()
    )
    pool = unl_texts + ood
    is_in = np.r_[np.ones(len(unl_texts), bool), np.zeros(len(ood), bool)]
    x_pool = encode_texts(pool, bb, vcache)
    x_lab = encode_texts(labelled["text"].to_list(), bb, vcache)
    out = {"in_domain": len(unl_texts), "out_of_domain": f"{len(ood)} from {other}"}
    for sel in (
        select_by_retrieval(x_pool, x_lab, labelled["label"].to_numpy()),
        select_by_classifier(x_pool, x_lab),
    ):
        kept = sel.keep
        out[sel.method] = {
            "kept": int(kept.sum()),
            "precision": float(is_in[kept].mean()) if kept.any() else 0.0,
            "recall": float(kept[is_in].mean()),
        }
    return out


def _setfit_scores(res: dict) -> dict[str, float]:
    """The peer's scores under our names (it reports accuracy and macro-F1; balanced from preds)."""
    out = {"accuracy": res["accuracy"], "macro_f1": res.get("macro_f1", float("nan"))}
    return out | {"balanced_accuracy": res.get("balanced_accuracy", float("nan"))}


def table(result: dict) -> str:
    headline, full = result["headline"], result["full_supervised"]
    scores = ", ".join(f"{NAMES[m]} {full[m]:.3f}" for m in METRICS)
    lines = [
        f"### {result['set']} ({result['n_test']} test, {result['n_unlabelled']} unlabelled; "
        f"full supervision on {result['n_pool']}: {scores}; headline {NAMES[headline]})",
        "",
        *method_table(result["rows"], headline),
        "",
        *curve_lines(result["curve"], full[headline] - 0.02, headline,
                     result.get("n_classes", 1), result["n_pool"]),
    ]  # fmt: skip
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sets", nargs="+", default=["rotten-tomatoes", "news-sources"])
    p.add_argument("--backbone", default="minilm")
    p.add_argument("--llm", default="smollm2", help="packaged name, .gguf, folder, or 'none'")
    p.add_argument("--shots", type=int, default=8)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--unlabelled", type=int, default=1000)
    p.add_argument("--augment-max", type=int, default=32)
    p.add_argument("--curve-augment-max", type=int, default=8)
    p.add_argument("--budgets", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    p.add_argument("--curve-seeds", type=int, default=3)
    p.add_argument("--setfit", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument(
        "--teacher",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="score the test set with the LLM too",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--quick", action="store_true", help="RT only, 3 seeds, 200 unlabelled, no SetFit"
    )
    p.add_argument("--out", type=Path, default=Path("runs/bench-hypermatch"))
    args = p.parse_args()
    if args.quick:
        args.sets, args.seeds, args.unlabelled, args.setfit, args.curve_seeds = (
            ["rotten-tomatoes"],
            3,
            200,
            False,
            2,
        )
        args.budgets = [2, 8, 32]
    return args


def main() -> None:
    args = parse_args()
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    bb = open_bb(args.backbone)
    llm = None if args.llm == "none" else open_llm(args.llm, llm_dir=HOME / "llm")
    results = []
    for name in args.sets:
        t0 = time.time()
        res = run_set(name, args, bb, llm, args.out)
        res["n_classes"] = len({r for r in TEXT_SETS[name]()["label"].unique()})
        res["wall_s"] = time.time() - t0
        results.append(res)
        print(table(res), flush=True)
        curve = pl.DataFrame(res["curve"])
        curve_report(
            curve,
            args.out / f"report-{name}",
            target=res["full_supervised"][res["headline"]] - 0.02,
            metric=res["headline"],
            title=f"HyperMatch data curve: {name}",
            meta=[f"backbone {args.backbone}, LLM {args.llm}"],
        )
        save(args, res)
    print("\n\n".join(table(r) for r in results))


def save(args: argparse.Namespace, res: dict) -> None:
    """Merge this set's result into results.json (runs of other sets are kept)."""
    path = args.out / "results.json"
    saved = json.loads(path.read_text()) if path.exists() else {"results": []}
    saved["results"] = [r for r in saved["results"] if r["set"] != res["set"]] + [res]
    saved.setdefault("args", {})[res["set"]] = {k: str(v) for k, v in vars(args).items()}
    write_json(saved, path)


if __name__ == "__main__":
    main()
