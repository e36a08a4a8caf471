"""Two gloo workers with gathered negatives give the single-process full-batch gradient."""

import functools
import os
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
import torch
import torch.multiprocessing as mp

from byod.data.schema import EVENT_SCHEMA
from byod.data.serialize import SerializeConfig, serialize
from byod.distributed.gather import gather_rows, local_span, negatives_per_anchor
from byod.encoders.hashing import HashingBackbone
from byod.encoders.histories import HistoryArrays
from byod.encoders.sequence import SequenceEncoder, SequenceEncoderConfig
from byod.pretrain.objectives import ObjectiveMix
from byod.pretrain.trainer import TrainConfig, Trainer

GLOBAL_BATCH = 16
CHUNK = 3  # smaller than a worker's 8 rows: GradCache's chunked path, several backward passes


def _events(n_users=40, seed=3):
    """Users with a taste over three services (spawned workers cannot reach tests/conftest)."""
    rng = np.random.default_rng(seed)
    words = ["action", "drama", "comedy", "space", "love", "war", "kids", "music"]
    rows, seq, t0 = [], 0, datetime(2024, 1, 1, tzinfo=UTC)
    for u in range(n_users):
        taste = rng.choice(words, 3, replace=False)
        for _ in range(rng.integers(6, 16)):
            seq += 1
            rows.append({
                "user_id": f"u{u}", "timestamp": t0 + timedelta(hours=int(rng.integers(0, 500))),
                "service": str(rng.choice(["shop", "search", "news"])),
                "text": " ".join(rng.choice(taste, 2)), "item_id": None, "seq": seq,
            })  # fmt: skip
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)


def _trainer():
    histories = serialize(_events(), SerializeConfig(max_events=16))
    arrays = HistoryArrays.build(histories, HashingBackbone(dim=16))
    torch.manual_seed(0)
    cfg = SequenceEncoderConfig(
        input_dim=16, dim=16, out_dim=8, layers=1, heads=2, dropout=0.0, max_events=16,
        n_services=len(arrays.services),
    )  # fmt: skip
    mix = ObjectiveMix.parse("clue:1,slices:0.5", max_events=16, temperature=0.1, learnable=True)
    train = TrainConfig(batch_size=GLOBAL_BATCH, chunk_size=CHUNK, device="cpu", val_fraction=0.1)
    # lr 0: the step leaves the weights as they were and the gradients in .grad
    trainer = Trainer(SequenceEncoder(cfg), mix, functools.partial(torch.optim.SGD, lr=0.0), train)
    trainer.split_users(arrays)
    return trainer, arrays


def _step(trainer, arrays):
    users = trainer.train_users[:GLOBAL_BATCH]
    table = torch.from_numpy(arrays.vectors)
    loss = trainer.train_step(arrays, table, users, np.random.default_rng([0, 0, 0]))
    grads = [p.grad.clone() for p in trainer.optimizer.param_groups[0]["params"]]
    return loss, grads


def _worker(rank, world, init, out):
    import torch.distributed as dist

    from byod.distributed.gather import distribute

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    trainer, arrays = _trainer()
    params = [p for g in trainer.optimizer.param_groups for p in g["params"]]
    distribute(trainer.loss, params)
    loss, grads = _step(trainer, arrays)
    users = trainer.train_users[:GLOBAL_BATCH]
    local = len(trainer.loss.objectives[0].pairs(arrays, users, np.random.default_rng(0))[0])
    x = torch.full((rank + 1, 2), float(rank), requires_grad=True)  # uneven rows gather too
    (gather_rows(x).sum() * (rank + 1)).backward()
    if rank == 0:
        torch.save({"loss": loss, "grads": grads, "x_grad": x.grad, "local": local}, out)
    dist.barrier()
    dist.destroy_process_group()
    # gloo's C++ threads can abort the interpreter's exit ("terminate called without an active
    # exception", SIGABRT) after the result is saved: leave without running static destructors
    os._exit(0)


def test_two_workers_give_the_full_batch_gradient(tmp_path):
    torch.set_num_threads(1)
    expected_loss, expected = _step(*_trainer())
    out = tmp_path / "rank0.pt"
    mp.spawn(_worker, args=(2, f"file://{tmp_path}/pg", str(out)), nprocs=2, join=True)
    got = torch.load(out)
    assert got["local"] == GLOBAL_BATCH // 2  # each worker embedded only its half
    assert got["loss"] == pytest.approx(expected_loss, abs=1e-6)
    assert len(got["grads"]) == len(expected)
    for g, e in zip(got["grads"], expected, strict=True):
        torch.testing.assert_close(g, e, atol=1e-5, rtol=1e-4)
    assert any(float(e.abs().sum()) > 0 for e in expected)
    # d/dx of sum_r (r + 1) * sum(gathered) on rank 0's row: 1 + 2 (summed over both workers)
    torch.testing.assert_close(got["x_grad"], torch.full((1, 2), 3.0))


def test_spans_and_negatives():
    assert [local_span(5, r, 2) for r in range(2)] == [(0, 2), (2, 5)]
    assert sum(b - a for a, b in (local_span(17, r, 3) for r in range(3))) == 17
    assert negatives_per_anchor(8, 2) == 15
    x = torch.ones(3, 2)
    assert gather_rows(x) is x  # one process: nothing to gather
