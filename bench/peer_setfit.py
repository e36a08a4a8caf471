"""Peer baseline: SetFit 1.2.0 few-shot text classification, run in its own virtual environment.

SetFit runs in ``.peer/setfit-venv`` (git-ignored; created on the first run: CPU torch 2.13.0 from
the local wheel first, so nothing pulls a CUDA build, then ``setfit==1.2.0``). SetFit pulls
``datasets``, ``evaluate``, ``accelerate`` and its own transformers / sentence-transformers; none of
it enters byod's dependencies. The worker, ``bench/peer_setfit_worker.py``, runs in that venv and
never imports byod.

Protocol (SetFit paper settings): a local sentence-transformers folder as the body, a
logistic-regression head (the SetFit default), ``num_iterations=20`` contrastive pair iterations,
``num_epochs=1``, ``batch_size=16``, a fixed seed; fit wall time covers ``Trainer.train()`` (body and
head), not loading or prediction. Accuracy, macro-F1 and balanced accuracy are computed on the test set with sklearn.
The hub is never reached (``HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1``).

    .venv/bin/python bench/peer_setfit.py --demo          # 8-shot Rotten Tomatoes, 500 test rows
    .venv/bin/python bench/peer_setfit.py --train a.jsonl --test b.jsonl --backbone PATH \\
        --seed 0 --out DIR

``--backbone`` defaults to byod's packaged all-MiniLM-L6-v2 (``$BYOD_HOME/models/minilm`` or
``~/.cache/byod/models/minilm``; built with ``byod models install minilm`` when absent).
Results: ``DIR/result.json``; the worker's log is echoed and kept in ``DIR/worker.log``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT / ".peer"
VENV = PEER / "setfit-venv"
WORKER = Path(__file__).resolve().with_name("peer_setfit_worker.py")
TORCH = "torch==2.13.0"
PEER_PACKAGES = ["setfit==1.2.0"]
# No further pins needed: setfit 1.2.0 runs with the newest stack pip resolves here (checked:
# transformers 5.23.0, sentence-transformers 6.2.0, datasets 5.2.0, huggingface_hub 2.4.0,
# accelerate 1.15.0); the worker records the versions it ran with in its result.
STAMP_TEXT = f"{TORCH} {' '.join(PEER_PACKAGES)}\n"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def ensure_setfit_venv() -> Path:
    """Create ``.peer/setfit-venv`` once (CPU torch first, then SetFit); return its python.

    Idempotent: a stamp file records the pins; a venv whose stamp differs is rebuilt.
    """
    python = VENV / "bin" / "python"
    stamp = VENV / ".setfit-installed"
    if stamp.exists() and stamp.read_text() == STAMP_TEXT and python.exists():
        return python
    print(f"creating the peer venv {VENV.relative_to(ROOT)} (a few minutes)", flush=True)
    t0 = time.perf_counter()
    subprocess.run(["python3", "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, TORCH], check=True)
    subprocess.run([*pip, TORCH, *PEER_PACKAGES], check=True)  # torch pinned: no CUDA build
    check = (
        "import setfit, sentence_transformers, datasets, torch; "
        "assert torch.version.cuda is None, torch.__version__; "
        "print('setfit', setfit.__version__, 'sentence-transformers', "
        "sentence_transformers.__version__, 'torch', torch.__version__)"
    )
    env = {**os.environ, **OFFLINE}
    subprocess.run([str(python), "-W", "ignore", "-c", check], check=True, env=env)
    stamp.write_text(STAMP_TEXT)
    print(f"peer venv ready in {time.perf_counter() - t0:.0f} s", flush=True)
    return python


def default_backbone() -> Path:
    """byod's packaged all-MiniLM-L6-v2 folder; built with ``byod models install`` if missing."""
    home = os.environ.get("BYOD_HOME")
    cache = Path(home) / "models" if home else Path.home() / ".cache" / "byod" / "models"
    path = cache / "minilm"
    if (path / "modules.json").exists():
        return path
    byod = Path(sys.executable).with_name("byod")
    if not byod.exists():
        byod = ROOT / ".venv" / "bin" / "byod"
    print(f"building the backbone: {byod} models install minilm", flush=True)
    out = subprocess.run(
        [str(byod), "models", "install", "minilm"], check=True, stdout=subprocess.PIPE, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


def write_jsonl(rows: list[tuple[str, str]], path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for text, label in rows:
            f.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
    tmp.replace(path)


def run_worker(
    train_path: Path,
    test_path: Path,
    *,
    backbone: str | Path,
    seed: int,
    out_dir: Path,
    threads: int = 1,
    num_iterations: int = 20,
    epochs: int = 1,
) -> dict[str, Any]:
    """Run the worker on JSONL files in the peer venv; stream its log; return its result JSON."""
    python = ensure_setfit_venv()
    # The worker runs with cwd=out_dir: every path it gets must be absolute.
    out_dir, train_path, test_path = (Path(p).resolve() for p in (out_dir, train_path, test_path))
    out_dir.mkdir(parents=True, exist_ok=True)
    result_path = out_dir / "result.json"
    result_path.unlink(missing_ok=True)
    cmd = [str(python), "-W", "ignore", str(WORKER), "--train", str(train_path),
           "--test", str(test_path), "--backbone", str(Path(backbone).resolve()),
           "--out", str(result_path), "--seed", str(seed), "--threads", str(threads),
           "--num-iterations", str(num_iterations), "--epochs", str(epochs)]  # fmt: skip
    env = {**os.environ, **OFFLINE, "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false",
           "PYTHONUNBUFFERED": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}  # fmt: skip
    log_path = out_dir / "worker.log"
    print(f"== SetFit in {VENV.relative_to(ROOT)}, log {log_path}", flush=True)
    with (
        log_path.open("w") as log,
        subprocess.Popen(
            cmd, cwd=out_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        ) as proc,
    ):
        assert proc.stderr is not None
        for line in proc.stderr:
            log.write(line)
            log.flush()
            print(f"  [setfit] {line}", end="", file=sys.stderr, flush=True)
    if proc.returncode != 0:
        raise RuntimeError(f"SetFit worker failed (exit {proc.returncode}); see {log_path}")
    return json.loads(result_path.read_text())


def run_setfit(
    train: list[tuple[str, str]],
    test: list[tuple[str, str]],
    *,
    backbone: str,
    seed: int,
    out_dir: Path,
    threads: int = 1,
    num_iterations: int = 20,
    epochs: int = 1,
) -> dict[str, Any]:
    """Fit SetFit on ``(text, label)`` pairs and score it on ``test``, in the peer venv.

    Returns ``{"accuracy", "macro_f1", "balanced_accuracy", "fit_s", "n_train", "n_test", "setfit_version",
    "params": {...}}`` (plus ``predict_s`` and library ``versions``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(train, out_dir / "train.jsonl")
    write_jsonl(test, out_dir / "test.jsonl")
    return run_worker(
        out_dir / "train.jsonl",
        out_dir / "test.jsonl",
        backbone=backbone,
        seed=seed,
        out_dir=out_dir,
        threads=threads,
        num_iterations=num_iterations,
        epochs=epochs,
    )


def demo_split(
    shots: int, n_test: int, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Rotten Tomatoes from byod: ``shots`` per class for train, ``n_test`` other rows for test."""
    from byod.labels.datasets import rotten_tomatoes

    rows = list(rotten_tomatoes().select("text", "label").iter_rows())
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    taken: dict[str, int] = {}
    train_idx: list[int] = []
    for i in order:
        label = rows[i][1]
        if taken.get(label, 0) < shots:
            taken[label] = taken.get(label, 0) + 1
            train_idx.append(i)
    chosen = set(train_idx)
    test_idx = [i for i in order if i not in chosen][:n_test]
    return [rows[i] for i in train_idx], [rows[i] for i in test_idx]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", type=Path, help="JSONL with text, label")
    p.add_argument("--test", type=Path, help="JSONL with text, label")
    p.add_argument("--backbone", type=Path, help="local sentence-transformers folder "
                   "(default: byod's packaged minilm)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="output folder (default runs/peer_setfit/<name>)")
    p.add_argument("--threads", type=int, default=1, help="torch threads in the worker")
    p.add_argument("--num-iterations", type=int, default=20, help="SetFit pair iterations")
    p.add_argument("--epochs", type=int, default=1, help="contrastive epochs")
    p.add_argument("--demo", action="store_true", help="8-shot Rotten Tomatoes, 500 test rows")
    p.add_argument("--shots", type=int, default=8, help="--demo: training rows per class")
    p.add_argument("--n-test", type=int, default=500, help="--demo: test rows")
    p.add_argument("--setup", action="store_true", help="only build the peer venv")
    args = p.parse_args()
    if not (args.demo or args.setup) and not (args.train and args.test):
        p.error("give --train and --test (or --demo, or --setup)")
    return args


def main() -> None:
    args = parse_args()
    if args.setup:
        ensure_setfit_venv()
        return
    backbone = args.backbone or default_backbone()
    common = {"backbone": str(backbone), "seed": args.seed, "threads": args.threads,
              "num_iterations": args.num_iterations, "epochs": args.epochs}  # fmt: skip
    if args.demo:
        out = args.out or ROOT / "runs" / "peer_setfit" / f"demo-rt-{args.shots}shot-s{args.seed}"
        train, test = demo_split(args.shots, args.n_test, args.seed)
        print(f"Rotten Tomatoes: {len(train)} train ({args.shots}/class), {len(test)} test, "
              f"seed {args.seed}", flush=True)  # fmt: skip
        result = run_setfit(train, test, out_dir=out, **common)
    else:
        out = args.out or ROOT / "runs" / "peer_setfit" / args.train.stem
        result = run_worker(args.train.resolve(), args.test.resolve(), out_dir=out, **common)
    print(json.dumps(result, indent=2))
    print(f"SetFit {result['setfit_version']}: accuracy {result['accuracy']:.4f}, "
          f"macro-F1 {result['macro_f1']:.4f}, fit {result['fit_s']:.1f} s "
          f"({result['n_train']} train / {result['n_test']} test); {out / 'result.json'}")  # fmt: skip


if __name__ == "__main__":
    main()
