"""SetFit worker: runs inside ``.peer/setfit-venv`` (started by ``bench/peer_setfit.py``).

Never imports byod. Reads ``{"text", "label"}`` JSONL train/test files, fine-tunes a local
sentence-transformers folder with SetFit (contrastive pairs, then a logistic-regression head, the
SetFit default), predicts the test set and writes one result JSON:
``{"accuracy", "macro_f1", "balanced_accuracy", "fit_s", "n_train", "n_test", "setfit_version", "params"}``.

Progress and library logs go to stderr; stdout stays empty.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Nothing here may reach the Hugging Face hub; the backbone is a local folder.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def log(msg: str) -> None:
    print(f"[setfit-worker] {msg}", file=sys.stderr, flush=True)


def read_jsonl(path: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                texts.append(str(row["text"]))
                labels.append(str(row["label"]))
    return texts, labels


def run(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    import setfit
    import torch
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
    from transformers import set_seed

    torch.set_num_threads(args.threads)
    train_x, train_y = read_jsonl(args.train)
    test_x, test_y = read_jsonl(args.test)
    classes = sorted(set(train_y))
    if len(classes) < 2:
        raise SystemExit(f"need at least 2 classes in the training set, got {classes}")
    code = {c: i for i, c in enumerate(classes)}
    unseen = sorted(set(test_y) - set(classes))
    if unseen:
        log(f"test labels absent from train (always wrong): {unseen}")
    # SetFit trains on integer codes (index into the sorted class names); predictions are mapped
    # back to the names, so scoring compares strings.
    train_ds = Dataset.from_dict({"text": train_x, "label": [code[y] for y in train_y]})

    set_seed(args.seed)
    backbone = str(args.backbone.resolve())
    log(f"backbone {backbone}; {len(train_x)} train / {len(test_x)} test, classes {classes}")
    model = SetFitModel.from_pretrained(backbone, labels=classes, device="cpu")
    params = {
        "backbone": backbone,
        "head": type(model.model_head).__name__,
        "num_iterations": args.num_iterations,
        "num_epochs": args.epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "threads": torch.get_num_threads(),
        "classes": classes,
    }
    scratch = tempfile.mkdtemp(prefix="setfit-")
    training_args = TrainingArguments(
        output_dir=scratch,  # nothing is saved there (save_strategy="no")
        batch_size=args.batch_size,
        num_iterations=args.num_iterations,
        num_epochs=args.epochs,
        seed=args.seed,
        save_strategy="no",
        report_to="none",
        show_progress_bar=False,
    )
    trainer = Trainer(model=model, args=training_args, train_dataset=train_ds)
    log("fitting (contrastive body, then the logistic-regression head)")
    t0 = time.perf_counter()
    trainer.train()
    fit_s = time.perf_counter() - t0
    shutil.rmtree(scratch, ignore_errors=True)
    log(f"fit {fit_s:.1f} s; predicting {len(test_x)} texts")
    t0 = time.perf_counter()
    pred_codes = np.asarray(model.predict(test_x, as_numpy=True, use_labels=False)).astype(int)
    predict_s = time.perf_counter() - t0
    pred = [classes[i] for i in pred_codes]
    accuracy = accuracy_score(test_y, pred)
    macro_f1 = f1_score(test_y, pred, labels=sorted(set(test_y) | set(pred)), average="macro")
    import sentence_transformers
    import transformers

    return {
        "accuracy": round(float(accuracy), 6),
        "macro_f1": round(float(macro_f1), 6),
        "balanced_accuracy": round(float(balanced_accuracy_score(test_y, pred)), 6),
        "fit_s": round(fit_s, 2),
        "predict_s": round(predict_s, 2),
        "n_train": len(train_x),
        "n_test": len(test_x),
        "setfit_version": setfit.__version__,
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        },
        "params": params,
    }


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description="SetFit fit/predict on JSONL files (peer venv only)")
    p.add_argument("--train", type=Path, required=True, help="JSONL with text, label")
    p.add_argument("--test", type=Path, required=True, help="JSONL with text, label")
    p.add_argument("--backbone", type=Path, required=True, help="local sentence-transformers dir")
    p.add_argument("--out", type=Path, required=True, help="result JSON to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--num-iterations", type=int, default=20)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=16)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(args.out)
    log(f"accuracy {result['accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f}; wrote {args.out}")


if __name__ == "__main__":
    main()
