"""Label-error audit: byod (PICO) against cleanlab and "predicted != given", same data, same run.

For Rotten Tomatoes (fresh / rotten) and news sources (9 classes): texts embedded once with the
backbone (cached under .cache/), a clean test split held out, synthetic noise at 10 / 20 / 40 % on
the rest. Peers get the same out-of-sample probabilities (byod's first round: 5-fold logistic
regression). Reports precision / recall / F1 of the flagged set, AUROC / AUPRC of the scores, and
the clean-test accuracy of a classifier retrained on noisy, cleanlab-cleaned (flagged removed) and
byod-corrected labels. Mean ± std over seeds.

    python bench/label_audit.py                       # both sets, 3 seeds
    python bench/label_audit.py --sets rotten-tomatoes --seeds 5 --rates 0.2
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
from cleanlab.filter import find_label_issues
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from byod.labels import audit, corrupt
from byod.labels.datasets import TEXT_SETS
from byod.textlab.metrics import classification_scores

from common import backbone as open_bb

CACHE = Path(".cache/bench-label-audit")


def embed(name: str, texts: list[str], backbone: str) -> np.ndarray:
    key = hashlib.sha256(("\n".join(texts) + backbone).encode()).hexdigest()[:12]
    path = CACHE / f"{name}-{backbone}-{key}.npy"
    if path.exists():
        return np.load(path)
    x = open_bb(backbone).encode(texts, batch_size=64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, x)
    return x


def flag_metrics(flags: np.ndarray, scores: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = (flags & truth).sum()
    p, r = tp / max(flags.sum(), 1), tp / max(truth.sum(), 1)
    return {"P": p, "R": r, "F1": 2 * p * r / max(p + r, 1e-12),
            "AUROC": roc_auc_score(truth, scores), "AUPRC": average_precision_score(truth, scores)}  # fmt: skip


def retrain_scores(x, y, x_test, y_test, keep=None) -> dict[str, float]:
    """Accuracy, macro-F1 and balanced accuracy on the clean test set after retraining."""
    keep = np.ones(len(y), bool) if keep is None else keep
    pred = LogisticRegression(C=1.0, max_iter=2000).fit(x[keep], y[keep]).predict(x_test)
    return classification_scores(y_test, pred)


def one_run(x, y, x_test, y_test, rate: float, seed: int) -> dict[str, dict[str, float]]:
    noisy, flipped = corrupt(y, rate, seed=seed)
    result = audit(x, noisy, n_splits=3, n_folds=5, n_rounds=3, seed=seed)
    probs, classes = result.first_round_probs, result.classes
    yi = np.searchsorted(classes, noisy)
    cl_flags = find_label_issues(yi, probs)
    given_p = probs[np.arange(len(yi)), yi]
    out = {
        "byod": flag_metrics(result.flagged, 1 - result.score, flipped),
        "cleanlab": flag_metrics(cl_flags, 1 - given_p, flipped),
        "pred!=given": flag_metrics(probs.argmax(1) != yi, 1 - given_p, flipped),
    }
    kept = {"byod": (result.suggested, None), "cleanlab": (noisy, ~cl_flags),
            "pred!=given": (noisy, probs.argmax(1) == yi), "noisy": (noisy, None),
            "clean": (y, None)}  # fmt: skip
    for method, (labels, keep) in kept.items():
        scores = retrain_scores(x, labels, x_test, y_test, keep)
        out.setdefault(method, {}).update(acc=scores["accuracy"], mF1=scores["macro_f1"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(TEXT_SETS))
    parser.add_argument("--rates", nargs="+", type=float, default=[0.1, 0.2, 0.4])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--max-rows", type=int, default=5000)
    args = parser.parse_args()
    for name in args.sets:
        df = TEXT_SETS[name]()
        if df.height > args.max_rows:
            df = df.sample(args.max_rows, seed=0)
        x = embed(name, df["text"].to_list(), args.backbone)
        y = df["label"].to_numpy().astype(str)
        x, x_test, y, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
        print(f"\n## {name}: {len(y):,} audited, {len(y_test):,} clean test, {len(set(y))} classes")
        print(
            f"{'noise':>5} {'method':<12} {'P':>11} {'R':>11} {'F1':>11} {'AUROC':>11} {'AUPRC':>11} {'retrained acc':>14} {'retrained mF1':>14}"
        )
        for rate in args.rates:
            runs = [one_run(x, y, x_test, y_test, rate, seed) for seed in range(args.seeds)]
            for method in ("byod", "cleanlab", "pred!=given", "noisy", "clean"):
                cells = []
                for metric in ("P", "R", "F1", "AUROC", "AUPRC", "acc", "mF1"):
                    vals = [r[method][metric] for r in runs if metric in r[method]]
                    cells.append(f"{np.mean(vals):.3f}±{np.std(vals):.3f}" if vals else "")
                print(
                    f"{rate:>5.0%} {method:<12} "
                    + " ".join(f"{c:>11}" for c in cells[:5])
                    + f" {cells[5]:>14} {cells[6]:>14}"
                )
            d_auprc = np.mean([r["byod"]["AUPRC"] - r["cleanlab"]["AUPRC"] for r in runs])
            d_acc = np.mean([r["byod"]["acc"] - r["cleanlab"]["acc"] for r in runs])
            print(
                f"{rate:>5.0%} byod - cleanlab: AUPRC {d_auprc:+.3f} (goal >= +0.05 at 20 %), retrained accuracy {d_acc:+.3f}"
            )


if __name__ == "__main__":
    main()
