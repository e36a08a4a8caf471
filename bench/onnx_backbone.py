"""Embedding a new user on request: PyTorch fp32 vs ONNX Runtime fp32 vs ONNX int8.

Work measured: a new user's 64 most recent event texts (ML-1M) through the text backbone, one
call per user, as `POST /v1/users/embed` does (batch 64, one process, the same threads).
Agreement: cosine of each ONNX vector to its PyTorch fp32 twin over distinct event texts, and a
downstream check: gender AUROC of a logistic probe on each runtime's zero-shot user mean.
Peer: the PyTorch backbone through sentence-transformers (what byod used before).

    .venv/bin/python bench/onnx_backbone.py --backbone minilm --users 100
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from byod.assets import backbone_fingerprint, backbone_prompt, load_backbone
from byod.data.builtin import load_movielens
from byod.encoders.onnx_backbone import OnnxBackbone
from byod.encoders.onnx_export import export_onnx

from common import backbone as open_backbone


def user_texts(events: pl.DataFrame, n_users: int, n_events: int, seed: int) -> pl.DataFrame:
    """``user_id, text`` (the ``n_events`` most recent event texts) of random users."""
    events = events.sort("user_id", "timestamp", "seq")
    groups = events.group_by("user_id", maintain_order=True).agg(pl.col("text").tail(n_events))
    groups = groups.filter(pl.col("text").list.len() >= n_events)
    return groups.sample(n=min(n_users, groups.height), seed=seed)


def latency(encode, users: list[list[str]]) -> list[float]:  # noqa: ANN001
    """Milliseconds per user (one encode call each), after one warm-up call."""
    encode(users[0])
    out = []
    for texts in users:
        t0 = time.perf_counter()
        encode(texts)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def probe_auroc(vectors: np.ndarray, y: np.ndarray, seeds: int) -> tuple[float, float]:
    """Gender AUROC of a cross-validated logistic probe, mean ± std over split seeds."""
    scores = []
    for s in range(seeds):
        xtr, xte, ytr, yte = train_test_split(vectors, y, test_size=0.2, random_state=s, stratify=y)
        clf = LogisticRegressionCV(Cs=np.logspace(-3, 2, 11), max_iter=2000).fit(xtr, ytr)
        scores.append(roc_auc_score(yte, clf.predict_proba(xte)[:, 1]))
    return float(np.mean(scores)), float(np.std(scores))


def user_means(runtime, users: list[list[str]]) -> np.ndarray:  # noqa: ANN001
    """Mean of each user's event vectors, L2-normalised: ``(n_users, dim)``.

    Each distinct text is encoded once (as byod's cache does), in batches of 64.
    """
    distinct = sorted({t for u in users for t in u})
    row = {t: i for i, t in enumerate(distinct)}
    table = np.concatenate([runtime(distinct[i : i + 64]) for i in range(0, len(distinct), 64)])
    vecs = np.stack([table[[row[t] for t in u]].mean(axis=0) for u in users])
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="minilm")
    parser.add_argument("--users", type=int, default=100, help="users timed per runtime")
    parser.add_argument("--events", type=int, default=64)
    parser.add_argument("--probe-users", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-onnx"))
    args = parser.parse_args()

    torch_bb = open_backbone(args.backbone)
    model = load_backbone(args.backbone, device="cpu")
    folder = Path(tempfile.mkdtemp(prefix="byod-onnx-"))
    t0 = time.perf_counter()
    export = export_onnx(
        model,
        folder,
        source_fingerprint=backbone_fingerprint(args.backbone),
        prompt=backbone_prompt(args.backbone),
    )
    export_s = time.perf_counter() - t0
    runtimes = {
        "pytorch fp32 (peer)": lambda t: torch_bb.encode(t, batch_size=64),
        "onnx fp32": OnnxBackbone(folder, variant="fp32").encode,
        "onnx int8": OnnxBackbone(folder, variant="int8").encode,
    }
    ml = load_movielens("ml-1m")
    users = user_texts(ml.events, args.users, args.events, seed=0)["text"].to_list()
    rows = {}
    for name, encode in runtimes.items():
        ms = latency(encode, users)
        rows[name] = {"p50_ms": statistics.median(ms), "p95_ms": float(np.percentile(ms, 95))}

    distinct = sorted({t for u in users for t in u})
    ref = torch_bb.encode(distinct)
    for name in ("onnx fp32", "onnx int8"):
        got = runtimes[name](distinct)
        cos = (ref * got).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(got, axis=1)
        rows[name] |= {"min_cos": float(cos.min()), "mean_cos": float(cos.mean())}

    gender = ml.labels.filter(pl.col("task") == "gender").select("user_id", "label")
    probe_users = user_texts(ml.events, args.probe_users, args.events, seed=1).join(
        gender, on="user_id"
    )
    probe = probe_users["text"].to_list()
    y = (probe_users["label"] == probe_users["label"].mode()[0]).to_numpy().astype(int)
    for name, encode in runtimes.items():
        rows[name]["gender_auroc"] = probe_auroc(user_means(encode, probe), y, args.seeds)

    base = rows["pytorch fp32 (peer)"]["p50_ms"]
    print(f"export + quantise + check: {export_s:.0f} s; export's verdict: {export.recommended}")
    print(f"{'runtime':22} {'p50 ms':>8} {'p95 ms':>8} {'speed-up':>9} {'min cos':>8} "
          f"{'mean cos':>9} {'gender AUROC':>16}")  # fmt: skip
    for name, r in rows.items():
        auc = r["gender_auroc"]
        print(
            f"{name:22} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {base / r['p50_ms']:8.2f}x "
            f"{r.get('min_cos', 1.0):8.4f} {r.get('mean_cos', 1.0):9.4f} "
            f"{auc[0]:.3f} ± {auc[1]:.3f}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "onnx_backbone.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
