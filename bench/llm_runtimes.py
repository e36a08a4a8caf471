"""LLM runtimes side by side: llama.cpp vs transformers on the same packaged GGUF files.

For each model and each backend, in its own process (so memory and threads are its own):
load time, zero-shot calibrated soft labels of ``--texts`` test texts with known labels (the
HyperMatch pseudo-label call: prompts/s, prompt tokens/s, accuracy and macro-F1), and greedy
GPT3Mix generation of ``--generate`` new examples (new tokens/s); then, per model, how far the
two backends' soft labels are apart (max / mean |Δp|, argmax agreement) and the speed ratios
llama.cpp / transformers. The transformers backend is the peer: it dequantises the GGUF to
float32 PyTorch (converted once into the LLM folder; the conversion is timed apart).

Sets: ``smollm2`` is English only (Rotten Tomatoes); the Qwen models run on NSMC (Korean, from
the shared data folder) and Rotten Tomatoes.

    python bench/llm_runtimes.py --models smollm2 qwen2.5-0.5b --texts 100
    python bench/llm_runtimes.py --models qwen2.5-1.5b --backends llama-cpp   # after `make llm`
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HOME = Path(os.environ.get("BYOD_HOME") or Path.home() / ".cache" / "byod")
SETS_OF = {"smollm2": ["rotten-tomatoes"]}
DEFAULT_SETS = ["nsmc", "rotten-tomatoes"]


def texts_of(name: str, n: int, data_root: Path | None) -> tuple[list[str], list[str]]:
    """``n`` test texts and their labels: a fixed seed-0 sample."""
    from byod.labels import datasets

    frame = datasets.nsmc(data_root).test if name == "nsmc" else datasets.rotten_tomatoes()
    frame = frame.sample(n=min(n, frame.height), seed=0, shuffle=True)
    return frame["text"].to_list(), frame["label"].to_list()


def worker(args: argparse.Namespace) -> None:
    """One model on one backend: writes ``result.json`` into ``--worker-out``."""
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from byod.textlab.llm import open_llm
    from byod.textlab.metrics import classification_scores
    from byod.textlab.prompts import load_task
    from byod.textlab.pseudolabel import prob_columns, pseudolabel

    model, backend = args.worker
    t0 = time.perf_counter()
    lm = open_llm(model, llm_dir=HOME / "llm", backend=backend, threads=args.threads)
    out: dict = {"model": model, "backend": backend, "load_s": time.perf_counter() - t0}
    for set_name in SETS_OF.get(model, args.sets):
        texts, labels = texts_of(set_name, args.texts, args.data_root)
        task = load_task(set_name, labels=sorted(set(labels)))
        pseudolabel(lm, task, texts[:1], progress=False)  # warm-up: the prior and one text
        before, t0 = lm.tokens_evaluated, time.perf_counter()
        frame = pseudolabel(lm, task, texts, progress=False)
        seconds = time.perf_counter() - t0
        scores = classification_scores(np.asarray(labels), frame["label"].to_numpy())
        gen = generation(lm, task, texts, labels, args)
        out[set_name] = {
            "texts": len(texts),
            "label_s": seconds,
            "prompts_per_s": len(texts) / seconds,
            "prompt_tokens_per_s": (lm.tokens_evaluated - before) / seconds,
            **scores,
            "probs": frame.select(prob_columns(task)).to_numpy().tolist(),
            **gen,
        }
        print(f"{model} {backend} {set_name}: {len(texts) / seconds:.2f} texts/s, "
              f"accuracy {scores['accuracy']:.3f}, {gen['new_tokens_per_s']:.1f} new tok/s",
              flush=True)  # fmt: skip
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.worker_out.write_text(json.dumps(out))


def generation(lm, task, texts: list[str], labels: list[str], args) -> dict:  # noqa: ANN001
    """Greedy GPT3Mix generation: one new example per prompt, two shown examples each."""
    prompts = []
    for i in range(args.generate):
        examples = [(texts[(2 * i + j) % len(texts)], labels[(2 * i + j) % len(texts)])
                    for j in range(2)]  # fmt: skip
        prompts.append(task.conditional_prompt(task.labels[i % len(task.labels)], examples))
    t0 = time.perf_counter()
    made = lm.generate(prompts, max_new_tokens=args.max_new_tokens, temperature=0.0, stop=None)
    seconds = time.perf_counter() - t0
    new_tokens = sum(lm.count_tokens(t) for t in made)
    return {
        "generate_s": seconds,
        "new_tokens": new_tokens,
        "new_tokens_per_s": new_tokens / seconds,
    }


def agreement(a: list, b: list) -> dict:
    pa, pb = np.asarray(a), np.asarray(b)
    diff = np.abs(pa - pb)
    return {"max_dp": float(diff.max()), "mean_dp": float(diff.mean()),
            "argmax_agree": float((pa.argmax(1) == pb.argmax(1)).mean())}  # fmt: skip


def report(results: list[dict], sets: list[str]) -> None:
    print("\n| model | backend | set | load s | texts/s | prompt tok/s | new tok/s | accuracy | "
          "macro-F1 | max RSS MB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for s in sets:
            if s in r:
                x = r[s]
                print(f"| {r['model']} | {r['backend']} | {s} | {r['load_s']:.1f} | "
                      f"{x['prompts_per_s']:.2f} | {x['prompt_tokens_per_s']:.0f} | "
                      f"{x['new_tokens_per_s']:.1f} | {x['accuracy']:.3f} | {x['macro_f1']:.3f} | "
                      f"{r['max_rss_mb']:.0f} |")  # fmt: skip
    by = {(r["model"], r["backend"]): r for r in results}
    print("\n| model | set | llama.cpp / transformers texts/s | new tok/s | max abs dp | "
          "mean abs dp | same argmax |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for model in sorted({r["model"] for r in results}):
        cpp, hf = by.get((model, "llama-cpp")), by.get((model, "transformers"))
        if not (cpp and hf):
            continue
        for s in sets:
            if s in cpp and s in hf:
                g = agreement(cpp[s]["probs"], hf[s]["probs"])
                print(f"| {model} | {s} | "
                      f"{cpp[s]['prompts_per_s'] / hf[s]['prompts_per_s']:.2f} | "
                      f"{cpp[s]['new_tokens_per_s'] / hf[s]['new_tokens_per_s']:.2f} | "
                      f"{g['max_dp']:.3f} | {g['mean_dp']:.4f} | {g['argmax_agree']:.3f} |")  # fmt: skip


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", nargs="+", default=["smollm2", "qwen2.5-0.5b"])
    p.add_argument("--backends", nargs="+", default=["llama-cpp", "transformers"])
    p.add_argument("--sets", nargs="+", default=DEFAULT_SETS, choices=DEFAULT_SETS)
    p.add_argument("--texts", type=int, default=100, help="test texts soft-labelled per set")
    p.add_argument("--generate", type=int, default=4, help="GPT3Mix prompts generated per set")
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-root", type=Path, help="the shared data folder (../shared/data)")
    p.add_argument("--out", type=Path, default=Path("runs/bench-llm-runtimes"))
    p.add_argument("--worker", nargs=2, metavar=("MODEL", "BACKEND"), help=argparse.SUPPRESS)
    p.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for model in args.models:
        for backend in args.backends:
            path = args.out / f"{model}-{backend}.json"
            if not path.exists():  # a finished pair is kept: rerun only what is missing
                cmd = [sys.executable, __file__, "--worker", model, backend, "--worker-out",
                       str(path), *_forwarded(args)]  # fmt: skip
                if subprocess.run(cmd).returncode != 0:
                    print(f"{model} on {backend} failed; see above", file=sys.stderr)
                    continue
            results.append(json.loads(path.read_text()))
    report(results, args.sets)


def _forwarded(args: argparse.Namespace) -> list[str]:
    out = ["--sets", *args.sets, "--texts", str(args.texts), "--generate", str(args.generate),
           "--max-new-tokens", str(args.max_new_tokens), "--threads", str(args.threads)]  # fmt: skip
    return out + (["--data-root", str(args.data_root)] if args.data_root else [])


if __name__ == "__main__":
    main()
