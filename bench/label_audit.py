"""Label-error audit: byod (PICO) against cleanlab and "predicted != given", same data, same run.

For Rotten Tomatoes (fresh / rotten) and news sources (9 classes): texts embedded once with the
backbone (cached under .cache/), a clean test split held out, synthetic noise at 10 / 20 / 40 % on
the rest. Peers get the same out-of-sample probabilities (byod's first round: 5-fold logistic
regression). Reports precision / recall / F1 of the flagged set, AUROC / AUPRC of the scores, and
the clean-test accuracy of a classifier retrained on noisy, cleanlab-cleaned (flagged removed) and
byod-corrected labels. Mean ± std over seeds.

    python bench/label_audit.py                       # both sets, 3 seeds
    python bench/label_audit.py --sets rotten-tomatoes --seeds 5 --rates 0.2
    python bench/label_audit.py --backbones minilm e5-small minilm+e5-small+tfidf --rates 0.2

``--backbones``: one table per entry; ``a+b+...`` audits with one checker per view
(``byod.labels.views``: encoders and ``tfidf``, probabilities combined as a product of experts)
and gives cleanlab the same combined first-round probabilities.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
from pathlib import Path

import numpy as np
from cleanlab.filter import find_label_issues
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from byod.errors import ByodError
from byod.labels import audit, corrupt
from byod.labels.datasets import TEXT_SETS, three_i4k
from byod.labels.views import TFIDF, stack_views, tfidf_view, view_ensemble
from byod.textlab.metrics import classification_scores

from common import backbone as open_bb

CACHE = Path(".cache/bench-label-audit")
# 3i4k from the shared data folder: its train split (Korean: audit it with e5-small).
AUDIT_SETS = {**TEXT_SETS, "3i4k": lambda: three_i4k().train}


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


def features(name: str, texts: list[str], spec: str) -> tuple[np.ndarray, list | None]:
    """``(n, d)`` features of ``spec`` (``minilm``, or views ``minilm+e5-small+tfidf``) and the
    views' blocks (``None`` for a single encoder: the default checker)."""
    names = spec.split("+")
    views = {v: tfidf_view(texts) if v == TFIDF else embed(name, texts, v) for v in names}
    if len(names) == 1:
        return views[names[0]], None
    return stack_views(views)


def run_audit(x, labels, seed: int, blocks, **options):  # noqa: ANN001, ANN003, ANN201
    """byod's audit with its defaults (or ``options``); one checker per view for ``blocks``."""
    checker = {} if blocks is None else {"checker": view_ensemble(blocks)}
    return audit(x, labels, n_splits=3, n_folds=5, n_rounds=3, seed=seed, **checker, **options)


def parse_variants(specs: list[str]) -> dict[str, dict]:
    """``["prior_shift=false", "thresholds=true"]`` -> ``{"byod[prior_shift=false]": {...}}``."""
    out = {}
    for spec in specs:
        options = {}
        for pair in spec.split(","):
            key, _, value = pair.partition("=")
            options[key] = {"true": True, "false": False}.get(value.lower(), value)
            with contextlib.suppress(ValueError):  # numbers are numbers
                options[key] = float(value)
        out[f"byod[{spec}]"] = options
    return out


def one_run(
    x, y, x_test, y_test, rate: float, seed: int, blocks=None, variants=None
) -> dict[str, dict]:  # noqa: ANN001, E501
    noisy, flipped = corrupt(y, rate, seed=seed)
    results = {"byod": run_audit(x, noisy, seed, blocks)}
    for name, options in (variants or {}).items():
        results[name] = run_audit(x, noisy, seed, blocks, **options)
    result = results["byod"]
    probs, classes = result.first_round_probs, result.classes
    yi = np.searchsorted(classes, noisy)
    cl_flags = find_label_issues(yi, probs)
    given_p = probs[np.arange(len(yi)), yi]
    out = {m: flag_metrics(r.flagged, 1 - r.score, flipped) for m, r in results.items()}
    out |= {
        "cleanlab": flag_metrics(cl_flags, 1 - given_p, flipped),
        "pred!=given": flag_metrics(probs.argmax(1) != yi, 1 - given_p, flipped),
    }
    kept = {m: (r.suggested, None) for m, r in results.items()}
    kept |= {"cleanlab": (noisy, ~cl_flags), "pred!=given": (noisy, probs.argmax(1) == yi),
             "noisy": (noisy, None), "clean": (y, None)}  # fmt: skip
    for method, (labels, keep) in kept.items():
        scores = retrain_scores(x, labels, x_test, y_test, keep)
        out.setdefault(method, {}).update(acc=scores["accuracy"], mF1=scores["macro_f1"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["rotten-tomatoes", "news-sources"],
                        choices=list(AUDIT_SETS))  # fmt: skip
    parser.add_argument("--rates", nargs="+", type=float, default=[0.1, 0.2, 0.4])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--backbones", nargs="+", default=["minilm"],
                        help="encoders, or views joined by + (e.g. minilm+e5-small+tfidf)")  # fmt: skip
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--variants", nargs="*", default=[],
                        help="byod rows with other audit options beside the defaults, e.g. "
                             "prior_shift=false thresholds=true")  # fmt: skip
    parser.add_argument("--real", action="store_true",
                        help="also audit the labels as given (no noise) and show the top suspects")  # fmt: skip
    args = parser.parse_args()
    args.variants = parse_variants(args.variants)
    for name in args.sets:
        try:
            df = AUDIT_SETS[name]()
        except ByodError as exc:  # e.g. the shared data folder is absent: one line
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        if df.height > args.max_rows:
            df = df.sample(args.max_rows, seed=0)
        y = df["label"].to_numpy().astype(str)
        for spec in args.backbones:
            x, blocks = features(name, df["text"].to_list(), spec)
            run_set(name, spec, x, blocks, y, args)
            if args.real:
                real_audit(name, spec, x, blocks, y, df["text"].to_list(), args.variants)


def real_audit(
    name: str, spec: str, x, blocks, y, texts: list[str], variants, top: int = 12
) -> None:  # noqa: ANN001, E501
    """The audit on the labels as they come: how many it flags, per class, and the top suspects."""
    for variant, options in {"byod": {}, **variants}.items():
        result = run_audit(x, y, 0, blocks, **options)
        print_real(f"{name} ({spec}, {variant})", result, y, texts, top)


def print_real(title: str, result, y, texts: list[str], top: int) -> None:  # noqa: ANN001
    """Flags per class and the top suspects of one audit of the labels as given."""
    flagged = result.flagged
    print(f"\n### {title}, labels as given: {flagged.sum():,} of {len(y):,} flagged "
          f"({flagged.mean():.1%})")  # fmt: skip
    for c in result.classes:
        mine = y == c
        print(f"  {c:<22} {mine.sum():>6,} rows, {flagged[mine].sum():>5,} flagged "
              f"({flagged[mine].mean():.1%})")  # fmt: skip
    print(f"  top {top} suspects (lowest posterior of the given label):")
    for i in np.argsort(result.score)[:top]:
        print(f"    {result.score[i]:.3f}  {y[i]} -> {result.suggested[i]}: {texts[i][:70]!r}")


def run_set(name: str, spec: str, x, blocks, y, args) -> None:  # noqa: ANN001
    """One table: every noise rate on one set with one backbone (or set of views)."""
    x, x_test, y, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    print(f"\n## {name} ({spec}): {len(y):,} audited, {len(y_test):,} clean test, "
          f"{len(set(y))} classes")  # fmt: skip
    print(
        f"{'noise':>5} {'method':<24} {'P':>11} {'R':>11} {'F1':>11} {'AUROC':>11} {'AUPRC':>11} {'retrained acc':>14} {'retrained mF1':>14}"
    )
    for rate in args.rates:
        runs = [one_run(x, y, x_test, y_test, rate, seed, blocks, args.variants)
                for seed in range(args.seeds)]  # fmt: skip
        for method in ("byod", *args.variants, "cleanlab", "pred!=given", "noisy", "clean"):
            cells = []
            for metric in ("P", "R", "F1", "AUROC", "AUPRC", "acc", "mF1"):
                vals = [r[method][metric] for r in runs if metric in r[method]]
                cells.append(f"{np.mean(vals):.3f}±{np.std(vals):.3f}" if vals else "")
            print(
                f"{rate:>5.0%} {method:<24} "
                + " ".join(f"{c:>11}" for c in cells[:5])
                + f" {cells[5]:>14} {cells[6]:>14}"
            )
        for method in ("byod", *args.variants):
            d_auprc = np.mean([r[method]["AUPRC"] - r["cleanlab"]["AUPRC"] for r in runs])
            d_acc = np.mean([r[method]["acc"] - r["cleanlab"]["acc"] for r in runs])
            print(
                f"{rate:>5.0%} {method} - cleanlab: AUPRC {d_auprc:+.3f} (goal >= +0.05 at 20 %), retrained accuracy {d_acc:+.3f}"
            )


if __name__ == "__main__":
    main()
