"""Peer: RecBole 1.2.1 SASRec trained on byod's timelines, scoring byod's own next-item targets.

``bench/peer_recbole.py`` runs RecBole's whole protocol on ML-1M. Here RecBole only *trains*:
the byod side writes the pretraining users' timelines (one service, or both merged) as a RecBole
atomic file, each test user's events before its target as an input sequence, and the candidate
items; the driver (``--driver DIR``, run in ``.peer/recbole-venv``) trains SASRec with RecBole's
trainer, keeps the best epoch by RecBole's own validation (each pretraining user's second-last
event against 100 sampled items, NDCG@10; the last event is RecBole's test and is not trained
on), and writes the score of every candidate for every test user. The byod side then evaluates
those scores with :func:`byod.transfer.nextitem.evaluate_scores`: the same targets, negatives,
seen-item masks and metric code as byod's own models in the same run.

What SASRec cannot represent: an item that no pretraining user touched has no embedding. In an
input sequence it is dropped; as a candidate it scores below every known item (ties among such
items are broken at random expectation by ``evaluate_scores``); a test user whose whole input is
unknown gets one score for every item (rank = the middle). The counts are reported.

Settings are ``peer_recbole.SASREC`` (50 items, hidden 64, 2 layers, 2 heads, CE over all items,
batch 256, lr 1e-3), trained until validation NDCG@10 stops improving for ``patience`` epochs or
the time cap. Used by ``bench/two_service.py --sasrec one,both``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer_recbole import (  # noqa: E402  (the bench folder is not a package)
    PEER,
    encode_once_per_user,
    ensure_peer_venv,
    fit,
    make_config,
    no_anomaly_mode,
    run_in_peer_venv,
)

DATASET = "timelines"  # RecBole's dataset name: DIR/timelines.inter


# ----------------------------------------------------------------------------- byod side


def sasrec_scores(
    train_events: Any,
    test_events: Any,
    test_task: Any,
    name: str,
    *,
    epochs: int = 200,
    patience: int = 10,
    max_minutes: float | None = None,
    threads: int = 2,
) -> tuple[Any, dict[str, Any]]:
    """Train SASRec on ``train_events`` and score ``test_task``'s items for its test users.

    Args:
        train_events: byod events (``user_id, item_id, timestamp, seq``) of the pretraining users.
        test_events: events the test users' inputs come from (cut before each test target).
        test_task: the :class:`~byod.transfer.nextitem.NextItemTask` of the test users.
        name: a folder name under ``.peer/timelines`` (one per trained model).

    Returns:
        ``(n_test_users, n_items)`` float64 scores in ``test_task`` order, and a run record.

    """
    import numpy as np

    python = ensure_peer_venv()
    folder = PEER / "timelines" / name / DATASET
    folder.mkdir(parents=True, exist_ok=True)
    data = write_timelines(train_events, test_events, test_task, folder)
    out = folder / "scores.npy"
    out.unlink(missing_ok=True)
    cmd = [str(python), "-W", "ignore", str(Path(__file__).resolve()), "--driver", str(folder),
           "--epochs", str(epochs), "--patience", str(patience), "--threads", str(threads)]  # fmt: skip
    if max_minutes:
        cmd += ["--max-minutes", str(max_minutes)]
    run_in_peer_venv(cmd, f"SASRec-{name}", threads)
    scores = np.load(out, allow_pickle=False).astype(np.float64)
    run = json.loads((folder / "run.json").read_text())
    unknown = np.isnan(scores)
    # Unknown candidates rank below every known one; a user with no known input ties everything.
    low = np.nanmin(np.where(unknown.all(axis=1, keepdims=True), 0.0, scores), axis=1) - 1.0
    scores = np.where(unknown, low[:, None], scores)
    dead = run["users_without_known_input"]
    scores[dead] = 0.0
    return scores, {**data, **{k: v for k, v in run.items() if k != "users_without_known_input"},
                    "n_users_without_known_input": len(dead)}  # fmt: skip


def write_timelines(train_events: Any, test_events: Any, task: Any, folder: Path) -> dict:
    """Write ``timelines.inter``, ``inputs.tsv`` (test users' sequences) and ``candidates.tsv``."""
    import polars as pl

    from byod.transfer.nextitem import events_before_targets

    train = train_events.sort("user_id", "timestamp", "seq")
    # RecBole sorts by time with stable sorts: the rank within the user keeps byod's exact order.
    rank = pl.int_range(pl.len()).over("user_id").cast(pl.Float64)
    atomic = train.select(
        pl.col("user_id").alias("user_id:token"),
        pl.col("item_id").alias("item_id:token"),
        rank.alias("timestamp:float"),
    )
    write_tsv(atomic, folder / f"{DATASET}.inter")
    cut = task.test.select("user_id", "timestamp", "seq")
    before = events_before_targets(test_events, cut)
    inputs = before.group_by("user_id", maintain_order=True).agg(
        items=pl.col("item_id").str.join(" ")
    )
    order = pl.DataFrame({"user_id": task.test_users}).with_row_index("row")
    inputs = order.join(inputs, on="user_id", how="left").sort("row")
    write_tsv(inputs.select("user_id", pl.col("items").fill_null("")), folder / "inputs.tsv")
    write_tsv(task.items.sort("index").select("item_id"), folder / "candidates.tsv")
    return {"train_events": train.height, "train_users": train["user_id"].n_unique(),
            "train_items": train["item_id"].n_unique()}  # fmt: skip


def write_tsv(df: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.write_csv(tmp, separator="\t", quote_style="never")
    tmp.replace(path)


# ----------------------------------------------------------------------------- peer side
# Runs in .peer/recbole-venv (python ... --driver DIR), never in byod's venv.


def input_batch(rows: list[list[str]], dataset: Any, max_len: int) -> tuple[Any, Any, list[int]]:
    """Item-id tensors ``(n, max_len)`` (left-aligned, 0-padded), lengths, rows with no input."""
    import torch

    seq = torch.zeros(len(rows), max_len, dtype=torch.long)
    lens = torch.ones(len(rows), dtype=torch.long)
    empty = []
    for r, tokens in enumerate(rows):
        known = [t for t in tokens if t in dataset.field2token_id[dataset.iid_field]]
        ids = dataset.token2id(dataset.iid_field, known[-max_len:]) if known else []
        if len(ids) == 0:
            empty.append(r)  # scored with a padding input; the byod side ties its row
            continue
        seq[r, : len(ids)] = torch.as_tensor(ids)
        lens[r] = len(ids)
    return seq, lens, empty


def score_inputs(net: Any, dataset: Any, folder: Path) -> tuple[Any, list[int], int]:
    """Scores ``(n_users, n_candidates)`` (NaN for unknown items), empty rows, unknown count."""
    import numpy as np
    import torch

    with (folder / "inputs.tsv").open() as f:
        rows = [(r["items"] or "").split() for r in csv.DictReader(f, delimiter="\t")]
    with (folder / "candidates.tsv").open() as f:
        candidates = [r["item_id"] for r in csv.DictReader(f, delimiter="\t")]
    vocab = dataset.field2token_id[dataset.iid_field]
    known = np.array([c in vocab for c in candidates])
    ids = torch.as_tensor([vocab.get(c, 0) for c in candidates])
    seq, lens, empty = input_batch(rows, dataset, net.max_seq_length)
    net.eval()
    with torch.no_grad():
        table = net.item_embedding(ids)
        batches = zip(seq.split(512), lens.split(512), strict=True)
        out = [net.forward(s, n) @ table.T for s, n in batches]
    scores = torch.cat(out).numpy().astype(np.float32)
    scores[:, ~known] = np.nan
    return scores, empty, int((~known).sum())


def driver(args: argparse.Namespace) -> None:
    import numpy as np
    import recbole
    import torch
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_logger, init_seed

    torch.set_num_threads(args.threads)
    sys.argv = sys.argv[:1]  # RecBole's Config would read this script's arguments as its own
    folder = Path(args.driver)
    config = make_config("SASRec", "uni100", args.epochs, args.patience, DATASET, folder.parent)
    config["checkpoint_dir"] = str(folder / "checkpoints")
    init_logger(config)
    init_seed(config["seed"], config["reproducibility"])
    t = time.perf_counter()
    dataset = create_dataset(config)
    train, valid, _ = data_preparation(config, dataset)
    data_s = time.perf_counter() - t
    print(f"SASRec: {dataset.user_num - 1:,} users, {dataset.item_num - 1:,} items, "
          f"{dataset.inter_num:,} rows ({data_s:.1f} s)", flush=True)  # fmt: skip
    net = get_model("SASRec")(config, train._dataset).to(config["device"])
    no_anomaly_mode()
    encode_once_per_user(net)  # validation: one encoding per user, checked against predict
    trainer = get_trainer(config["MODEL_TYPE"], "SASRec")(config, net)
    timing = fit(trainer, train, valid, args.max_minutes)
    best = torch.load(trainer.saved_model_file, weights_only=False)  # our own checkpoint
    net.load_state_dict(best["state_dict"])
    t = time.perf_counter()
    scores, empty, unknown = score_inputs(net, dataset, folder)
    run = {
        **timing,
        "best_valid_ndcg@10": round(float(trainer.best_valid_score), 4),
        "score_s": round(time.perf_counter() - t, 2),
        "data_s": round(data_s, 2),
        "unknown_candidates": unknown,
        "users_without_known_input": empty,
        "versions": {
            "recbole": recbole.__version__,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },  # fmt: skip
    }
    tmp = folder / "scores.tmp.npy"
    np.save(tmp, scores, allow_pickle=False)
    tmp.replace(folder / "scores.npy")
    (folder / "run.json").write_text(json.dumps(run, indent=2))
    print(f"SASRec: done; {json.dumps({k: v for k, v in run.items() if k != 'epoch_s'})[:400]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--driver", required=True, help="folder written by write_timelines")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--max-minutes", type=float)
    parser.add_argument("--threads", type=int, default=2)
    driver(parser.parse_args())
