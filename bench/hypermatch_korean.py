"""HyperMatch in Korean: NSMC and 3i4k, 8 labels per class, against supervised and SetFit.

Data from the shared folder (``../shared/data``, never committed; ``--data-root``), loaded by
``byod.labels.datasets``: NSMC under the standard binary protocol (ratings 1-4 negative, 9-10
positive, 5-8 dropped; a fixed balanced test sample of 5,000, of which ``--test`` rows are
scored) and 3i4k with its own test split (7 intents, imbalanced: macro-F1 is the headline). From
each training pool (shuffled, seed 12345): ``--unlabelled`` texts without their labels, then a
``--full``-row sample the few labels are drawn from (class-balanced, one draw per seed) and the
"full supervision" reference is fitted on. Methods, all on multilingual-e5-small:

* supervised: frozen encoder + logistic regression on the few labels;
* ssl (no LLM): HyperMatch head with FixMatch on the unlabelled texts, no LLM;
* setfit: SetFit 1.2.0 (contrastive fine-tuning + logistic head) in its own venv, the same e5
  folder and the same ``query: `` prefix byod gives e5;
* hypermatch: frozen encoder + the LLM's calibrated Korean soft labels of the unlabelled texts
  (distillation + class-balanced FixMatch), used only when the teacher check passes; no LLM
  augmentation (generation is the slow part on CPU);
* hypermatch, finetune: the same, with the encoder fine-tuned inside (``encoder="finetune"``:
  SetFit's pairs with sentence-transformers' CosineSimilarityLoss, plus the LLM's soft labels
  as distillation targets and FixMatch when the teacher check passes; then the head on the
  fine-tuned vectors). With the teacher rejected it is SetFit's body training + the head.
  ``--encoders`` picks the HyperMatch rows (default both).

The LLM (Qwen2.5-Coder-0.5B, ~3-5 s per Korean text on a shared 2-core CPU) is capped: it scores
the ``--unlabelled`` texts once (zero-shot, cached: shared by every seed) and, per seed, at most
``--teacher-max`` labelled texts for the teacher check; the run prints the calls it made. The LLM's
own zero-shot scores on the unlabelled texts (their labels are known) show what the teacher knew.
Mean ± std over seeds, never the best run.

    python bench/hypermatch_korean.py --seeds 3 --test 1000             # the small run
    python bench/hypermatch_korean.py --seeds 5 --test 5000 --unlabelled 1000 --teacher-max 0
    python bench/hypermatch_korean.py --no-setfit --out runs/ko-llm &            # two processes:
    python bench/hypermatch_korean.py --no-llm-methods --out runs/ko-setfit     # LLM | SetFit
    python bench/hypermatch_korean.py --merge runs/ko-llm runs/ko-setfit        # one table
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import polars as pl

from byod.atomic import write_json
from byod.encoders.backbone import open_backbone
from byod.encoders.cache import EmbeddingCache
from byod.errors import ByodError
from byod.labels.datasets import KOREAN_SETS, TextSplit
from byod.textlab.curve import full_supervision, sample_per_class, supervised_predict
from byod.textlab.hypermatch import HyperMatchConfig, encode_texts, fit_hypermatch
from byod.textlab.jsonl_cache import JsonlCache
from byod.textlab.llm import open_llm
from byod.textlab.metrics import METRICS, classification_scores, headline_metric
from byod.textlab.prompts import load_task
from byod.textlab.pseudolabel import pseudolabel

sys.path.insert(0, str(Path(__file__).parent))

from hypermatch_tables import NAMES, method_table  # noqa: E402

HOME = Path(os.environ.get("BYOD_HOME") or Path.home() / ".cache" / "byod")


class CountingLLM:
    """Passes every call to the LLM and counts the scoring calls (one per text) and their time."""

    def __init__(self, llm) -> None:  # noqa: ANN001
        self.llm, self.calls, self.seconds = llm, 0, 0.0

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.llm, name)

    def score(self, context, continuations):  # noqa: ANN001, ANN201
        t0 = time.perf_counter()
        try:
            return self.llm.score(context, continuations)
        finally:
            self.calls += 1
            self.seconds += time.perf_counter() - t0


def splits(name: str, split: TextSplit, args: argparse.Namespace) -> dict[str, pl.DataFrame]:
    """``test`` (``--test`` rows of the set's test split), ``unlabelled`` and ``pool``."""
    test = split.test.sample(n=min(args.test, split.test.height), seed=0, shuffle=True)
    train = split.train.sample(fraction=1.0, shuffle=True, seed=12345)
    n_unl = args.unlabelled
    return {"test": test, "unlabelled": train[:n_unl], "pool": train[n_unl : n_unl + args.full]}


def run_set(name: str, split: TextSplit, args, bb, llm, out: Path) -> dict:  # noqa: ANN001
    parts = splits(name, split, args)
    test, unl, pool = parts["test"], parts["unlabelled"], parts["pool"]
    labels = sorted(pool["label"].unique().to_list())
    task = load_task(name, labels=labels)
    vcache = EmbeddingCache(HOME / "text-vectors", bb.fingerprint, bb.dim)
    llm_cache = JsonlCache(out / f"llm-{name}-{args.llm}.jsonl")
    enc = lambda texts: encode_texts(list(texts), bb, vcache)  # noqa: E731
    x_test, x_pool = enc(test["text"]), enc(pool["text"])
    y_test = test["label"].to_numpy()
    headline = headline_metric(y_test)
    pool_texts, pool_labels = pool["text"].to_list(), pool["label"].to_list()
    unl_texts = unl["text"].to_list()
    cfg = HyperMatchConfig(augment_ratio=0, teacher_max=args.teacher_max or None)
    score = lambda pred: classification_scores(y_test, pred)  # noqa: E731
    rows, info = [], {}
    full = full_supervision(x_pool, pool_labels, x_test, y_test)
    for seed in range(args.first_seed, args.seeds):
        idx = sample_per_class(pool_labels, args.shots, seed)
        texts, ys = [pool_texts[i] for i in idx], [pool_labels[i] for i in idx]
        t0 = time.time()
        pred = supervised_predict(x_pool[idx], ys, x_test)
        rows.append({"method": "supervised", "seed": seed, **score(pred),
                     "fit_s": time.time() - t0})  # fmt: skip
        if args.setfit:
            rows.append(setfit_row(name, texts, ys, test, bb, seed, args, out))
        if llm is None:  # SetFit-only run (a second process beside the LLM run)
            print(pl.DataFrame(rows).filter(pl.col("seed") == seed), flush=True)
            continue
        t0 = time.time()
        ssl = fit_hypermatch(texts, ys, unl_texts, task=task, backbone=bb, llm=None,
                             config=dataclasses.replace(cfg, consistency_without_llm=True),
                             seed=seed, vector_cache=vcache, progress=False)  # fmt: skip
        rows.append({"method": "ssl (no LLM)", "seed": seed, **score(ssl.head.predict(x_test)),
                     "fit_s": time.time() - t0})  # fmt: skip
        for encoder in args.encoders:
            ecfg = dataclasses.replace(cfg, encoder=encoder)
            suffix = "" if encoder == "frozen" else ", finetune"
            t0 = time.time()
            if not args.teacher_off_only:
                hm = fit_hypermatch(texts, ys, unl_texts, task=task, backbone=bb, llm=llm,
                                    config=ecfg, seed=seed, llm_cache=llm_cache,
                                    vector_cache=vcache, progress=False)  # fmt: skip
                pred = hm.head.predict(x_test) if hm.backbone is None else hm.predict(test["text"])
                rows.append({"method": "hypermatch" + suffix, "seed": seed, **score(pred),
                             "fit_s": time.time() - t0})  # fmt: skip
                info[f"seed{seed}" + suffix.replace(", ", "-")] = hm.info
            if args.without_teacher_check:  # what the LLM adds when it is trusted regardless
                t0 = time.time()
                forced = fit_hypermatch(texts, ys, unl_texts, task=task, backbone=bb, llm=llm,
                                        config=dataclasses.replace(ecfg, teacher_check=False),
                                        seed=seed, llm_cache=llm_cache, vector_cache=vcache,
                                        progress=False)  # fmt: skip
                pred = (forced.head.predict(x_test) if forced.backbone is None
                        else forced.predict(test["text"]))  # fmt: skip
                rows.append({"method": f"hypermatch{suffix}, teacher check off", "seed": seed,
                             **score(pred), "fit_s": time.time() - t0})  # fmt: skip
                info.setdefault(f"seed{seed}" + suffix.replace(", ", "-"), forced.info)
        print(pl.DataFrame(rows).filter(pl.col("seed") == seed), flush=True)
    if llm is not None:
        info |= llm_info(llm, task, unl, llm_cache, range(args.first_seed, args.seeds), info)
    return {"set": name, "rows": rows, "full_supervised": full, "headline": headline,
            "info": info, "n_test": test.height, "n_unlabelled": unl.height,
            "n_pool": pool.height, "labels": labels,
            "test_largest_class": float(test["label"].value_counts()["count"].max() / test.height)}  # fmt: skip


def llm_info(llm, task, unl: pl.DataFrame, llm_cache, seeds: range, info: dict) -> dict:  # noqa: ANN001
    """The LLM's own zero-shot scores on the unlabelled texts and the teacher decisions."""
    unl_texts = unl["text"].to_list()
    zero_shot = pseudolabel(llm, task, unl_texts, cache=llm_cache, progress=False)
    scores = classification_scores(unl["label"].to_numpy(), zero_shot["label"].to_numpy())
    used = [next((v.get("teacher", {}).get("used") for k, v in info.items()
                  if k.startswith(f"seed{s}")), None) for s in seeds]  # fmt: skip
    return {"llm_zero_shot_on_unlabelled": scores | {"n": len(unl_texts)}, "teacher_used": used}


def setfit_row(name, texts, ys, test, bb, seed, args, out) -> dict:  # noqa: ANN001
    from hypermatch import cached_setfit

    prompt = getattr(getattr(bb, "backbone", bb), "prompt", "")  # byod's e5 prefix, same for SetFit
    res = cached_setfit(
        [(prompt + t, y) for t, y in zip(texts, ys, strict=True)],
        [(prompt + t, y) for t, y in zip(test["text"], test["label"], strict=True)],
        backbone=str(HOME / "models" / args.backbone), seed=seed,
        out_dir=out / f"setfit-{name}-{seed}", threads=args.threads,
    )  # fmt: skip
    scores = {m: res.get(m, float("nan")) for m in METRICS}
    return {"method": "setfit", "seed": seed, **scores, "fit_s": res["fit_s"]}


def table(result: dict, llm: CountingLLM, args: argparse.Namespace) -> str:
    full, headline = result["full_supervised"], result["headline"]
    zs = result["info"].get("llm_zero_shot_on_unlabelled")
    lines = [
        f"### {result['set']} ({result['n_test']} test rows, largest class "
        f"{result['test_largest_class']:.0%}; headline {NAMES[headline]}; {args.shots} labels "
        f"per class, {args.seeds} seeds; {result['n_unlabelled']} unlabelled)",
        "",
        *method_table(result["rows"], headline),
        "",
        "full supervision (logistic regression on the "
        f"{result['n_pool']}-row pool): " + ", ".join(f"{NAMES[m]} {full[m]:.3f}" for m in METRICS),
    ]  # fmt: skip
    if zs is not None:
        lines += [
            f"LLM {args.llm} zero-shot on the {zs['n']} unlabelled texts: "
            + ", ".join(f"{NAMES[m]} {zs[m]:.3f}" for m in METRICS),
            f"teacher check passed (per seed): {result['info']['teacher_used']}",
        ]
    if llm is not None:
        calls, each = llm.calls, llm.seconds / max(llm.calls, 1)
        lines.append(f"LLM scoring calls so far: {calls} ({each:.2f} s each)")
    elif "llm_calls_total" in result:
        lines.append(f"LLM scoring calls (whole run, up to this set): {result['llm_calls_total']}")
    return "\n".join(lines)


def merge(dirs: list[Path], args: argparse.Namespace) -> None:
    """One table per set from runs on the same splits (e.g. the LLM methods and SetFit apart).

    Rows come from each run's ``results.json`` and from SetFit's per-seed ``result.json`` files
    (so seeds a SetFit run finished count before the run does); a method already present for a
    seed (the deterministic ``supervised`` row) is kept once. Only seeds ``--first-seed`` ..
    ``--seeds - 1`` are counted.
    """
    results: dict[str, dict] = {}
    for folder in dirs:
        path = folder / "results.json"
        saved = json.loads(path.read_text()) if path.exists() else {"results": {}}
        if (
            saved["results"]
            and "llm" in saved.get("args", {})
            and saved["args"].get("llm_methods") == "True"
        ):
            args.llm = saved["args"]["llm"]  # the table names the LLM the run used
        for name, res in saved["results"].items():
            base = results.setdefault(name, res | {"rows": []})
            base["info"] = base.get("info") or res.get("info")
            _add_rows(base["rows"], res["rows"])
        for done in sorted(folder.glob("setfit-*-*/result.json")):
            name, seed = done.parent.name.removeprefix("setfit-").rsplit("-", 1)
            res = json.loads(done.read_text())
            row = {"method": "setfit", "seed": int(seed), "fit_s": res["fit_s"],
                   **{m: res.get(m, float("nan")) for m in METRICS}}  # fmt: skip
            if name in results:
                _add_rows(results[name]["rows"], [row])
    for res in results.values():
        # the seeds asked for only: a 5-seed SetFit run beside a 3-seed LLM run compares 3 to 3
        res["rows"] = [r for r in res["rows"] if args.first_seed <= r["seed"] < args.seeds]
        print(table(res, None, args), "\n")


def _add_rows(rows: list[dict], new: list[dict]) -> None:
    seen = {(r["method"], r["seed"]) for r in rows}
    rows += [r for r in new if (r["method"], r["seed"]) not in seen]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sets", nargs="+", default=list(KOREAN_SETS), choices=list(KOREAN_SETS))
    p.add_argument("--data-root", type=Path, help="the shared data folder (../shared/data)")
    p.add_argument("--shots", type=int, default=8)
    p.add_argument("--seeds", type=int, default=3, help="seeds first-seed .. seeds-1")
    p.add_argument("--first-seed", type=int, default=0, help="e.g. add seeds 3-4 to a 3-seed run")
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--unlabelled", type=int, default=64, help="LLM-labelled texts per set")
    p.add_argument("--full", type=int, default=5000, help="pool rows (full supervision)")
    p.add_argument("--teacher-max", type=int, default=21, help="0: check every labelled text")
    p.add_argument("--llm", default="qwen2.5-0.5b")
    p.add_argument("--llm-backend", default="transformers", choices=["transformers", "llama-cpp"])
    p.add_argument("--llm-threads", type=int, default=1)
    p.add_argument("--backbone", default="e5-small")
    p.add_argument("--setfit", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument(
        "--llm-methods",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="--no-llm-methods: supervised (+ SetFit) only, e.g. in a second process",
    )
    p.add_argument(
        "--without-teacher-check",
        action="store_true",
        help="add a HyperMatch row that uses the LLM whatever the teacher check says",
    )
    p.add_argument(
        "--teacher-off-only",
        action="store_true",
        help="with --without-teacher-check: only those rows (beside a run that has the others)",
    )
    p.add_argument(
        "--encoders",
        nargs="+",
        default=["frozen", "finetune"],
        choices=["frozen", "finetune"],
        help="HyperMatch rows: the frozen-encoder head and / or the encoder fine-tuned inside",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("runs/bench-hypermatch-korean"))
    p.add_argument("--merge", type=Path, nargs="+", help="print one table from these run folders")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.merge:
        merge(args.merge, args)
        return
    try:  # the data first: a missing shared folder is one line, before any model loads
        data = {name: KOREAN_SETS[name](args.data_root) for name in args.sets}
    except ByodError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    bb = open_backbone(args.backbone, models_dir=HOME / "models")
    llm = (
        CountingLLM(
            open_llm(
                args.llm, llm_dir=HOME / "llm", backend=args.llm_backend, threads=args.llm_threads
            )
        )  # fmt: skip
        if args.llm_methods
        else None
    )
    results = {}
    for name, split in data.items():
        t0 = time.time()
        res = run_set(name, split, args, bb, llm, args.out)
        res["wall_s"], res["llm_calls_total"] = time.time() - t0, llm.calls if llm else 0
        results[name] = res
        print(table(res, llm, args), flush=True)
        write_json({"args": {k: str(v) for k, v in vars(args).items()}, "results": results},
                   args.out / "results.json")  # fmt: skip
    print("\n\n".join(table(r, llm, args) for r in results.values()))
    if llm is not None:
        print(json.dumps({"llm_calls": llm.calls, "llm_s": round(llm.seconds, 1)}))


if __name__ == "__main__":
    main()
