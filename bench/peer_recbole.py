"""Peer baseline: the real RecBole 1.2.1 (Pop, SASRec) on byod's MovieLens-1M leave-one-out split.

RecBole runs in its own virtual environment, ``.peer/recbole-venv`` (git-ignored; created on the
first run: CPU torch 2.13.0 from the local wheel, then ``recbole==1.2.1`` with ``numpy<1.24``, as
RecBole still uses ``np.float``). Nothing of it enters byod's dependencies.

Data. byod's own loader (``load_movielens("ml-1m").interactions``: 1,000,209 ratings, 6,040 users)
is written as the atomic file ``.peer/data/ml1m-byod/ml1m-byod.inter``, ordered by (user_id,
timestamp, seq). MovieLens timestamps tie often, so the ``timestamp:float`` column holds the
event's *rank within its user* in (timestamp, seq) order: RecBole's time ordering (``order: TO``,
stable sorts) then reproduces byod's order exactly. Item ids are written as integer codes (titles
would trip pandas' quoting); the code -> byod item_id map is written beside the file.

Split and protocol. ``eval_args: {split: {LS: valid_and_test}, order: TO, group_by: user}``: per user
the last event is the test target, the second last the validation target, as in
``byod.data.splits.leave_one_out`` (the driver checks RecBole's targets against byod's for every
user). No filter drops users or items (``val_interval``, ``rm_dup_inter`` off, interaction-count
intervals ``[0,inf)``). Metrics: HR@1/5/10, NDCG@10 and RecBole's MRR@10 (a cut-off MRR), for

* ``sampled-100``: the test item against 100 uniformly sampled items the user never interacted
  with (``mode: uni100``). Pop does this natively. For sequential models RecBole only supports its
  "repeatable" sampler, which excludes the target item alone; the driver gives that sampler the
  user's whole item set, and also reports RecBole's own behaviour as ``sampled-100-recbole``.
* ``full``: the test item against every item (``mode: full``), with the user's earlier items
  masked. Pop does this natively; for SASRec RecBole masks nothing (repeatable), so the driver
  masks, and also reports RecBole's unmasked ranking as ``full-unmasked``.

A model is trained once (validation on uni100 each epoch, the best epoch's checkpoint kept); the
full-ranking dataloader is built from a second config on the same file and the same model is
scored on it. SASRec's input for a target is every earlier event in (timestamp, seq) order, as in
``byod.transfer.nextitem``. Differences left: RecBole draws its 100 negatives with replacement
(byod: 100 distinct), breaks score ties by ``torch.topk`` order (byod: expected value under random
tie-breaking, which matters for Pop's full ranking), and its MRR is cut at 10 (byod's ``mrr`` is not).

Cost. SASRec (50 items, hidden 64, 2 layers, 2 heads, batch 256, CE, lr 1e-3, seed 0) takes about
1,300-1,950 s per epoch on 2 CPU threads, so ``--epochs`` defaults to 1 (the epoch count is
reported next to the numbers); ``--max-minutes`` stops before an epoch that would not fit. On a
machine another job keeps busy, ``--threads 1`` trains several times faster than 2 threads
(OpenMP threads wait on each other). RecBole's sampled evaluation encodes each user's sequence
once per candidate (101 times); the driver encodes it once per user and checks the scores against
RecBole's ``SASRec.predict`` on the first batch, which makes the per-epoch validation cheap.

    .venv/bin/python bench/peer_recbole.py --epochs 1          # Pop and SASRec
    .venv/bin/python bench/peer_recbole.py --quick             # Pop only: a smoke check
    .venv/bin/python bench/peer_recbole.py --models SASRec --epochs 3 --max-minutes 120
    .venv/bin/python bench/peer_recbole.py --models SASRec --epochs 300 --patience 10 \
        --max-minutes 600   # to convergence: RecBole's early stopping on valid NDCG@10, capped

SASRec is trained with RecBole's cross-entropy loss over all items (``loss_type: CE``, the
variant of Klenitskiy & Vasilev 2023); ``--patience`` is RecBole's ``stopping_step`` and the
result records ``stopped_by`` (early stopping, the time cap or the epoch count).
    .venv/bin/python bench/peer_recbole.py --quick --ours runs/bench-transfer/transfer/recommend.parquet

Results go to ``runs/peer_recbole/results.json`` (runs of other models already there are kept);
each model's RecBole log is ``.peer/logs/<model>.log``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT / ".peer"
VENV = PEER / "recbole-venv"
DATASET = "ml1m-byod"
DATA_ROOT = PEER / "data"
DATA_DIR = DATA_ROOT / DATASET
RESULTS = ROOT / "runs" / "peer_recbole" / "results.json"
N_USERS_ML1M = 6040
TORCH = "torch==2.13.0"
PEER_PACKAGES = ["recbole==1.2.1", "numpy<1.24", "pandas<2", "setuptools<81"]
# setuptools<81 keeps pkg_resources, which ray (a RecBole dependency) imports.
METRICS = ["hit@1", "hit@5", "hit@10", "ndcg@10", "mrr@10"]
SASREC = {
    "MAX_ITEM_LIST_LENGTH": 50,
    "hidden_size": 64,
    "inner_size": 256,
    "n_layers": 2,
    "n_heads": 2,
    "loss_type": "CE",
}


# ----------------------------------------------------------------------------- byod side


def ensure_peer_venv() -> Path:
    """Create ``.peer/recbole-venv`` once (CPU torch first, then RecBole); return its python."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".recbole-installed"
    if stamp.exists():
        return python
    print(f"creating the peer venv {VENV.relative_to(ROOT)} (a few minutes)", flush=True)
    subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, TORCH], check=True)
    subprocess.run([*pip, TORCH, *PEER_PACKAGES], check=True)  # torch pinned: no CUDA build
    check = (
        "import recbole.quick_start, torch; assert torch.version.cuda is None, torch.__version__"
    )
    subprocess.run([str(python), "-W", "ignore", "-c", check], check=True)
    stamp.write_text(f"{TORCH} {' '.join(PEER_PACKAGES)}\n")
    return python


def write_dataset() -> dict[str, Any]:
    """Write byod's ML-1M interactions as a RecBole atomic file, plus byod's own LOO targets."""
    import polars as pl

    from byod.data.builtin.movielens import load_movielens
    from byod.data.splits import leave_one_out

    ml = load_movielens("ml-1m")
    inter = ml.interactions.sort("user_id", "timestamp", "seq")
    codes = pl.DataFrame({"item_id": inter["item_id"].unique().sort()}).with_row_index("code")
    inter = inter.join(codes, on="item_id", how="left", maintain_order="left")
    rank = pl.int_range(pl.len()).over("user_id").cast(pl.Float64)
    atomic = inter.select(
        pl.col("user_id").alias("user_id:token"),
        pl.col("code").cast(pl.String).alias("item_id:token"),
        rank.alias("timestamp:float"),
    )
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    write_tsv(atomic, DATA_DIR / f"{DATASET}.inter")
    write_tsv(codes.select("code", "item_id"), DATA_DIR / "item_codes.tsv")
    split = leave_one_out(ml.events)
    targets = split.valid.select("user_id", valid="item_id").join(
        split.test.select("user_id", test="item_id"), on="user_id"
    )
    targets = targets.with_columns(
        pl.col(c).replace_strict(codes["item_id"], codes["code"]).cast(pl.String)
        for c in ("valid", "test")
    )
    write_tsv(targets.sort("user_id"), DATA_DIR / "byod_targets.tsv")
    return {"events": inter.height, "users": inter["user_id"].n_unique(), "items": codes.height}


def write_tsv(df: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.write_csv(tmp, separator="\t", quote_style="never")
    tmp.replace(path)


def run_driver(python: Path, model: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one model in the peer venv; its output is shown and kept in ``.peer/logs/<model>.log``."""
    out = PEER / "results" / f"{model}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    cmd = [str(python), "-W", "ignore", str(Path(__file__).resolve()), "--driver", model,
           "--epochs", str(args.epochs), "--out", str(out)]  # fmt: skip
    cmd += ["--threads", str(args.threads), "--patience", str(args.patience)]
    if args.max_minutes:
        cmd += ["--max-minutes", str(args.max_minutes)]
    run_in_peer_venv(cmd, model, args.threads)
    return json.loads(out.read_text())


def run_in_peer_venv(cmd: list[str], name: str, threads: int) -> None:
    """Run ``cmd`` (a driver in the peer venv), echoing and keeping its output in ``.peer/logs``."""
    work, logs = PEER / "work", PEER / "logs"
    for d in (work, logs):
        d.mkdir(parents=True, exist_ok=True)
    n = str(threads)
    env = {**os.environ, "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n,
           "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    log_path = logs / f"{name}.log"
    print(f"== {name}: RecBole in {VENV.relative_to(ROOT)}, log {log_path.relative_to(ROOT)}")
    with (
        log_path.open("w") as log,
        subprocess.Popen(
            cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc,
    ):
        assert proc.stdout is not None
        for line in proc.stdout:
            line = re.sub(r"\x1b\[[0-9;]*m", "", line)
            log.write(line)
            log.flush()
            print(f"  [{name}] {line}", end="", flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"{name}: RecBole driver failed (exit {proc.returncode}); see {log_path}")


def write_json_atomic(data: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def merge_results(runs: dict[str, dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    """Add this invocation's runs to those already in the results file (other models kept)."""
    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    merged = {**old.get("runs", {}), **runs}
    return {
        "benchmark": "peer RecBole 1.2.1 on byod's ML-1M leave-one-out split",
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": data,
        "runs": merged,
    }


def table_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for model, run in results["runs"].items():
        epochs = str(run["epochs_run"]) if run["trainable"] else "-"
        for protocol, res in run["protocols"].items():
            m = res["metrics"]
            rows.append(
                [model, protocol, *(f"{m[k]:.4f}" for k in METRICS), f"{run['train_s']:.1f}",
                 f"{res['eval_s']:.1f}", epochs, f"{res['n_users']:,}/{N_USERS_ML1M:,}"]
            )  # fmt: skip
    return rows


def print_table(results: dict[str, Any]) -> None:
    head = ["model", "protocol", "HR@1", "HR@5", "HR@10", "NDCG@10", "MRR@10", "train s",
            "eval s", "epochs", "users evaluated"]  # fmt: skip
    rows = table_rows(results)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print("\nRecBole 1.2.1 on byod's ML-1M leave-one-out split (CPU)")
    for r in [head, *rows]:
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        print("  ".join(cells))
    for model, run in results["runs"].items():
        if run["trainable"]:
            print(f"{model}: {run['epochs_run']} epoch(s) of {run['epochs_requested']} requested"
                  f" (stopped by {run.get('stopped_by', 'time cap' if run['capped'] else 'epochs')})"
                  "; "
                  f"train s excludes per-epoch validation ({run['valid_s']:.1f} s)")  # fmt: skip
        print(f"{model}: RecBole's LOO targets match byod's for {run['targets_match_byod']}; "
              f"{run['versions']['threads']} torch thread(s)")  # fmt: skip


def compare_ours(path: Path, results: dict[str, Any]) -> None:
    """Print byod's HR@10 / NDCG@10 (segment 'all') beside SASRec's, with ours/SASRec ratios."""
    if not path.exists():
        print(f"\n--ours {path}: no such file yet; comparison skipped")
        return
    sasrec = results["runs"].get("SASRec")
    if sasrec is None:
        print("\n--ours: no SASRec run in the results yet; comparison skipped")
        return
    import polars as pl

    ours = pl.read_parquet(path).filter(
        pl.col("segment") == "all", pl.col("metric").is_in(["hr@10", "ndcg@10"])
    )
    print(f"\nbyod ({path}) vs RecBole SASRec ({sasrec['epochs_run']} epoch(s)), segment 'all'")
    print(f"{'source':<28} {'protocol':<12} {'metric':<8} {'ours':>7} {'SASRec':>7} {'ratio':>6}")
    for row in ours.sort("protocol", "source", "metric").iter_rows(named=True):
        peer = sasrec["protocols"].get(row["protocol"])
        if peer is None:
            continue
        theirs = peer["metrics"]["hit@10" if row["metric"] == "hr@10" else "ndcg@10"]
        ratio = row["value"] / theirs if theirs else float("nan")
        print(f"{row['source']:<28} {row['protocol']:<12} {row['metric']:<8} "
              f"{row['value']:>7.4f} {theirs:>7.4f} {ratio:>6.2f}")  # fmt: skip


def main(args: argparse.Namespace) -> None:
    models = ["Pop"] if args.quick else [m.strip() for m in args.models.split(",") if m.strip()]
    python = ensure_peer_venv()
    t0 = time.perf_counter()
    data = write_dataset()
    data["write_s"] = round(time.perf_counter() - t0, 2)
    data["path"] = str(DATA_DIR.relative_to(ROOT))
    print(f"wrote {data['path']}: {data['events']:,} events, {data['users']:,} users, "
          f"{data['items']:,} items ({data['write_s']} s)")  # fmt: skip
    runs = {model: run_driver(python, model, args) for model in models}
    results = merge_results(runs, data)
    write_json_atomic(results, RESULTS)
    print_table(results)
    print(f"results: {RESULTS.relative_to(ROOT)}")
    if args.ours:
        compare_ours(args.ours, results)


# ----------------------------------------------------------------------------- peer side
# Everything below runs in .peer/recbole-venv (python ... --driver MODEL), never in byod's venv.


class TimeCap(Exception):
    """Raised after an epoch when the next one would not fit in --max-minutes."""


def recbole_config(
    model: str, mode: str, epochs: int, patience: int = 10, data_root: Path = DATA_ROOT
) -> dict[str, Any]:
    """RecBole settings for one model; ``data_root`` holds one folder per data set."""
    config: dict[str, Any] = {
        "data_path": str(data_root),
        "checkpoint_dir": str(PEER / "checkpoints"),
        "gpu_id": "",
        "use_gpu": False,
        "seed": 0,
        "reproducibility": True,
        "show_progress": False,
        "worker": 0,
        "state": "INFO",
        "log_wandb": False,
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "TIME_FIELD": "timestamp",
        "rm_dup_inter": None,
        "val_interval": None,
        "user_inter_num_interval": "[0,inf)",
        "item_inter_num_interval": "[0,inf)",
        "normalize_all": False,
        "eval_args": {
            "split": {"LS": "valid_and_test"},
            "group_by": "user",
            "order": "TO",
            "mode": mode,
        },  # fmt: skip
        "metrics": ["Hit", "NDCG", "MRR"],
        "topk": [1, 5, 10],
        "valid_metric": "NDCG@10",
        "eval_batch_size": 4096,
        "epochs": epochs,
        "stopping_step": patience,  # validations without improvement before RecBole stops
        "train_batch_size": 256,
        "learning_rate": 0.001,
        "train_neg_sample_args": None,  # CE for SASRec; Pop then counts positives only
    }
    if model == "SASRec":
        config.update(SASREC)
    return config


def make_config(
    model: str,
    mode: str,
    epochs: int,
    patience: int = 10,
    dataset: str = DATASET,
    data_root: Path = DATA_ROOT,
) -> Any:
    from recbole.config import Config

    settings = recbole_config(model, mode, epochs, patience, data_root)
    config = Config(model=model, dataset=dataset, config_dict=settings)
    assert config["device"].type == "cpu", config["device"]
    return config


def build(config: Any) -> tuple[Any, tuple[Any, Any, Any]]:
    """RecBole's dataset and (train, valid, test) dataloaders for a config."""
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import init_seed

    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    return dataset, data_preparation(config, dataset)


def seen_items(dataset: Any) -> tuple[Any, Any]:
    """Every item each user interacted with (whole log): per-user sets and a bool matrix."""
    import numpy as np
    import torch

    with (DATA_DIR / f"{DATASET}.inter").open() as f:
        rows = list(csv.reader(f, delimiter="\t"))[1:]
    uids = dataset.token2id(dataset.uid_field, [r[0] for r in rows])
    iids = dataset.token2id(dataset.iid_field, [r[1] for r in rows])
    matrix = torch.zeros(dataset.user_num, dataset.item_num, dtype=torch.bool)
    matrix[torch.as_tensor(uids), torch.as_tensor(iids)] = True
    sets = np.array([set() for _ in range(dataset.user_num)], dtype=object)
    for u, i in zip(uids.tolist(), iids.tolist(), strict=True):
        sets[u].add(i)
    return sets, matrix


def check_targets(dataset: Any, valid: Any, test: Any) -> str:
    """Compare RecBole's per-user validation/test items with byod's leave_one_out targets."""
    with (DATA_DIR / "byod_targets.tsv").open() as f:
        expected = {
            r["user_id"]: (r["valid"], r["test"]) for r in csv.DictReader(f, delimiter="\t")
        }
    got: dict[str, list[str]] = {}
    for phase, loader in enumerate((valid, test)):
        feat = loader._dataset.inter_feat
        users = dataset.id2token(dataset.uid_field, feat[dataset.uid_field].numpy())
        items = dataset.id2token(dataset.iid_field, feat[dataset.iid_field].numpy())
        for u, i in zip(users.tolist(), items.tolist(), strict=True):
            got.setdefault(u, ["", ""])[phase] = i
    same = sum(tuple(got.get(u, ())) == t for u, t in expected.items())
    return f"{same:,}/{len(expected):,} users"


def fit(trainer: Any, train: Any, valid: Any, max_minutes: float | None) -> dict[str, Any]:
    """trainer.fit with per-epoch timing; stops early when the next epoch would pass the cap."""
    times = {"train": [], "valid": 0.0}
    train_epoch, valid_epoch = trainer._train_epoch, trainer._valid_epoch

    def timed_train(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        out = train_epoch(*a, **k)
        times["train"].append(time.perf_counter() - t)
        return out

    def timed_valid(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        out = valid_epoch(*a, **k)
        times["valid"] += time.perf_counter() - t
        return out

    start = time.perf_counter()

    def cap(epoch: int, score: float) -> None:
        elapsed = time.perf_counter() - start
        if max_minutes and elapsed + times["train"][-1] > max_minutes * 60:
            raise TimeCap

    trainer._train_epoch, trainer._valid_epoch = timed_train, timed_valid
    capped = False
    try:
        trainer.fit(train, valid, saved=True, show_progress=False, callback_fn=cap)
    except TimeCap:
        capped = True
    ran = len(times["train"])
    stopped_by = "time cap" if capped and ran < trainer.epochs else "epochs"
    if not capped and ran < trainer.epochs:
        stopped_by = "early stopping"
    return {
        "epochs_run": ran,
        "stopped_by": stopped_by,
        "capped": capped and ran < trainer.epochs,
        "train_s": round(sum(times["train"]), 2),
        "valid_s": round(times["valid"], 2),
        "epoch_s": [round(t, 1) for t in times["train"]],
    }


def evaluate(trainer: Any, loader: Any, load_best: bool) -> dict[str, Any]:
    """One test evaluation: RecBole's metrics, wall time and the number of users scored."""
    from recbole.utils import init_seed

    counted: list[int] = []
    evaluate_struct = trainer.evaluator.evaluate

    def counting(struct: Any) -> Any:
        counted.append(int(struct.get("rec.topk").shape[0]))
        return evaluate_struct(struct)

    trainer.evaluator.evaluate = counting
    init_seed(0, True)  # the same negatives whatever ran before
    t = time.perf_counter()
    result = trainer.evaluate(loader, load_best_model=load_best, show_progress=False)
    seconds = time.perf_counter() - t
    trainer.evaluator.evaluate = evaluate_struct
    metrics = {k: round(float(v), 4) for k, v in result.items()}
    return {"metrics": metrics, "eval_s": round(seconds, 2), "n_users": counted[0]}


def no_anomaly_mode() -> None:
    """Turn off the autograd anomaly mode that importing RecBole's models turns on.

    ``recbole/model/sequential_recommender/sine.py`` calls ``torch.autograd.set_detect_anomaly(True)``
    at import, and ``get_model`` imports every sequential model, so every RecBole model trains in
    PyTorch's debugging mode (a stack trace recorded per op, checks in backward): SASRec on this
    CPU trained 2-3x slower with it. Call after ``get_model``.
    """
    import torch

    torch.autograd.set_detect_anomaly(False)


def encode_once_per_user(net: Any) -> None:
    """SASRec.predict, but each user's sequence is encoded once per batch, not once per candidate.

    RecBole scores a sampled-100 batch row by row: 101 identical sequences per user go through the
    transformer. This computes the same ``forward(seq) . item_embedding(item)`` from one encoding per
    user (101x less work; eval mode, so no dropout) and checks it against RecBole's own
    ``predict`` on the first batch.
    """
    import torch

    predict = net.predict
    checked = False

    def predict_once(interaction: Any) -> Any:
        nonlocal checked
        seq, lens = interaction[net.ITEM_SEQ], interaction[net.ITEM_SEQ_LEN]
        _, inverse = torch.unique(interaction[net.USER_ID], return_inverse=True)
        first = torch.empty(int(inverse.max()) + 1, dtype=torch.long)
        first[inverse] = torch.arange(len(inverse))
        assert torch.equal(seq[first][inverse], seq) and torch.equal(lens[first][inverse], lens)
        encoded = net.forward(seq[first], lens[first])[inverse]
        scores = (encoded * net.item_embedding(interaction[net.ITEM_ID])).sum(dim=1)
        if not checked:
            n = min(len(scores), 505)
            reference = predict(interaction[torch.arange(n)])
            assert torch.allclose(reference, scores[:n], rtol=1e-4, atol=1e-5), "predict differs"
            checked = True
        return scores

    net.predict = predict_once


def never_seen_sampler(sampler: Any, sets: Any) -> Any:
    """RecBole's repeatable sampler, but excluding every item the user interacted with."""

    def sample_by_user_ids(user_ids: Any, item_ids: Any, num: int) -> Any:
        import numpy as np

        sampler.used_ids = sets[np.asarray(user_ids)]
        return sampler.sample_by_key_ids(np.arange(len(user_ids)), num)

    sampler.sample_by_user_ids = sample_by_user_ids
    return sampler


def masked_full(trainer: Any, matrix: Any, uid_field: str) -> Any:
    """Full-ranking batches with the user's other items (all but the target) scored -inf."""
    batch_eval = trainer._full_sort_batch_eval

    def masked(batched: Any) -> Any:
        interaction, scores, pos_u, pos_i = batch_eval(batched)
        mask = matrix[interaction[uid_field]].clone()
        mask[pos_u, pos_i] = False
        scores[mask] = float("-inf")
        return interaction, scores, pos_u, pos_i

    return masked


def sampled_protocols(trainer: Any, test: Any, sets: Any, sequential: bool) -> dict[str, Any]:
    if not sequential:  # RecBole's non-repeatable sampler already excludes all the user's items
        return {"sampled-100": evaluate(trainer, test, load_best=True)}
    native = test._sampler.sample_by_user_ids
    never_seen_sampler(test._sampler, sets)
    ours = evaluate(trainer, test, load_best=True)
    test._sampler.sample_by_user_ids = native
    return {"sampled-100": ours, "sampled-100-recbole": evaluate(trainer, test, load_best=False)}


def full_protocols(model: str, epochs: int, net: Any, matrix: Any, sequential: bool) -> Any:
    from recbole.utils import get_trainer

    t = time.perf_counter()
    config = make_config(model, "full", epochs)
    dataset, (_, _, test) = build(config)
    data_s = time.perf_counter() - t
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, net)
    if not sequential:  # RecBole masks the user's train + validation items itself
        return {"full": evaluate(trainer, test, load_best=False)}, dataset, data_s
    native = trainer._full_sort_batch_eval
    trainer._full_sort_batch_eval = masked_full(trainer, matrix, dataset.uid_field)
    masked = evaluate(trainer, test, load_best=False)
    trainer._full_sort_batch_eval = native
    unmasked = evaluate(trainer, test, load_best=False)
    return {"full": masked, "full-unmasked": unmasked}, dataset, data_s


def driver(args: argparse.Namespace) -> None:
    import recbole
    import torch
    from recbole.utils import ModelType, get_model, get_trainer, init_logger

    torch.set_num_threads(args.threads)
    sys.argv = sys.argv[:1]  # RecBole's Config would read this script's arguments as its own
    model = args.driver
    config = make_config(model, "uni100", args.epochs, args.patience)
    init_logger(config)
    t = time.perf_counter()
    dataset, (train, valid, test) = build(config)
    data_s = time.perf_counter() - t
    print(f"{model}: {dataset.user_num - 1:,} users, {dataset.item_num - 1:,} items, "
          f"{dataset.inter_num:,} rows after RecBole's processing ({data_s:.1f} s)", flush=True)  # fmt: skip
    sequential = config["MODEL_TYPE"] == ModelType.SEQUENTIAL
    sets, matrix = seen_items(dataset)
    net = get_model(model)(config, train._dataset).to(config["device"])
    no_anomaly_mode()
    if model == "SASRec":
        encode_once_per_user(net)
    trainer = get_trainer(config["MODEL_TYPE"], model)(config, net)
    timing = fit(trainer, train, valid, args.max_minutes)
    protocols = sampled_protocols(trainer, test, sets, sequential)
    full, full_dataset, full_data_s = full_protocols(model, args.epochs, net, matrix, sequential)
    for field in (dataset.uid_field, dataset.iid_field):  # the model's ids mean the same items
        assert (full_dataset.field2id_token[field] == dataset.field2id_token[field]).all()
    run = {
        "model": model,
        "trainable": config["MODEL_TYPE"] != ModelType.TRADITIONAL,
        "epochs_requested": args.epochs,
        "max_minutes": args.max_minutes,
        **timing,
        "data_s": round(data_s, 2),
        "full_data_s": round(full_data_s, 2),
        "targets_match_byod": check_targets(dataset, valid, test),
        "protocols": {**protocols, **full},
        "config": {
            k: config[k]
            for k in recbole_config(model, "uni100", args.epochs)
            if k not in ("data_path", "checkpoint_dir")
        },  # fmt: skip
        "versions": {
            "recbole": recbole.__version__,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },  # fmt: skip
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = Path(args.out)
    out.with_suffix(".tmp").write_text(json.dumps(run, indent=2, default=str))
    out.with_suffix(".tmp").replace(out)
    print(f"{model}: done; {json.dumps(run['protocols'])}", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="Pop,SASRec", help="comma-separated RecBole models")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs (Pop: ignored)")
    parser.add_argument("--max-minutes", type=float, help="start no epoch that would end later")
    parser.add_argument("--patience", type=int, default=10,
                        help="RecBole's stopping_step: epochs without a better validation "
                        "NDCG@10 before training stops (with a large --epochs: to convergence)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2, help="torch threads in RecBole")
    parser.add_argument("--quick", action="store_true", help="Pop only: a smoke check")
    parser.add_argument("--ours", type=Path, help="byod transfer results (Parquet) to compare")
    parser.add_argument("--driver", help=argparse.SUPPRESS)  # internal: run MODEL in the peer venv
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    cli = parse_args()
    if cli.driver:
        driver(cli)
    else:
        main(cli)
