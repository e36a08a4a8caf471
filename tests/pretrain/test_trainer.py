import functools

import numpy as np
import pytest
import torch

from byod.encoders.histories import HistoryArrays, collate
from byod.encoders.sequence import SequenceEncoder, SequenceEncoderConfig
from byod.losses import InfoNCELoss
from byod.pretrain.callbacks import Checkpoint, EarlyStopping
from byod.pretrain.grad_cache import grad_cache_step
from byod.pretrain.objectives import ClueObjective
from byod.pretrain.run import PretrainConfig, pretrain
from byod.pretrain.trainer import TrainConfig, Trainer, load_checkpoint
from byod.pretrain.views import make_sampler


@pytest.fixture(scope="module")
def arrays(histories, backbone) -> HistoryArrays:
    return HistoryArrays.build(histories, backbone)


def _model(arrays: HistoryArrays, dropout: float = 0.1) -> SequenceEncoder:
    torch.manual_seed(0)
    cfg = SequenceEncoderConfig(
        input_dim=arrays.vectors.shape[1], dim=16, out_dim=8, heads=2, layers=1,
        dropout=dropout, max_events=32, n_services=len(arrays.services),
    )  # fmt: skip
    return SequenceEncoder(cfg)


def test_grad_cache_equals_one_full_batch(arrays) -> None:
    """Without dropout, chunked embedding gives exactly the full-batch loss and gradients."""
    sampler = make_sampler("clue", 16)
    users = sampler.eligible(arrays)[:12]
    rng = np.random.default_rng(0)
    pairs = [sampler.pair(arrays, int(u), rng) for u in users]
    a, b = collate([p[0] for p in pairs]), collate([p[1] for p in pairs])
    table = torch.from_numpy(arrays.vectors)
    grads = []
    for chunk in (12, 5):
        model, loss = _model(arrays, dropout=0.0), InfoNCELoss(0.1, learnable=True)

        def embed(x, model=model):
            return model(table[x.events], x.mask, x.recency, x.service)

        torch.manual_seed(42)
        value = grad_cache_step(embed, loss, a, b, chunk)
        grads.append((value, [p.grad.clone() for p in model.parameters()], loss.log_scale.grad))
    (v1, g1, t1), (v2, g2, t2) = grads
    assert v1 == pytest.approx(v2, rel=1e-5)
    torch.testing.assert_close(t1, t2)
    for x, y in zip(g1, g2, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)


def test_grad_cache_replays_dropout_masks(arrays) -> None:
    """The second (gradient) pass of a chunk sees the same dropout mask as the cached pass."""
    model = _model(arrays, dropout=0.5).train()
    table = torch.from_numpy(arrays.vectors)
    batch = collate([arrays.view(h, 16) for h in range(6)])
    seen = []

    def embed(x):
        z = model(table[x.events], x.mask, x.recency, x.service)
        seen.append(z.detach().clone())
        return z

    grad_cache_step(embed, InfoNCELoss(0.1), batch, batch, chunk_size=3)
    # 4 cached chunks (2 per side) then the same 4 again with gradients.
    for first, second in zip(seen[:4], seen[4:], strict=True):
        torch.testing.assert_close(first, second)


def _trainer(arrays, callbacks=None, epochs=3) -> Trainer:
    return Trainer(
        _model(arrays),
        ClueObjective(make_sampler("clue", 16), InfoNCELoss(0.1, learnable=True)),
        functools.partial(torch.optim.AdamW, lr=3e-3),
        TrainConfig(epochs=epochs, batch_size=8, chunk_size=4, val_fraction=0.2, seed=1),
        callbacks=callbacks or [],
    )


def test_training_lowers_the_loss_and_same_seed_gives_same_model(arrays) -> None:
    t1, t2 = _trainer(arrays), _trainer(arrays)
    s1, s2 = t1.fit(arrays), t2.fit(arrays)
    assert s1.history[-1]["train_loss"] < s1.history[0]["train_loss"]
    for p, q in zip(t1.model.parameters(), t2.model.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    assert [h["val_loss"] for h in s1.history] == [h["val_loss"] for h in s2.history]


def test_resume_after_interruption_continues_exactly(arrays, tmp_path) -> None:
    ckpt = tmp_path / "last.pt"
    full = _trainer(arrays)
    full.fit(arrays)
    # Interrupted: stop after 5 steps (mid-epoch), checkpoint every step, then resume.
    first = _trainer(arrays, callbacks=[Checkpoint(ckpt, every_steps=1)])
    first.split_users(arrays)
    first.config = first.config.__class__(**{**first.config.__dict__, "max_steps": 5})
    first.fit(arrays)
    resumed = _trainer(arrays)
    resumed.split_users(arrays)
    load_checkpoint(resumed, ckpt)
    assert resumed.state.global_step == 5
    resumed.fit(arrays)
    for p, q in zip(full.model.parameters(), resumed.model.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_early_stopping_stops_when_validation_stalls(arrays) -> None:
    class Flat(EarlyStopping):
        pass

    trainer = _trainer(arrays, callbacks=[Flat(patience=1, min_delta=100.0)], epochs=10)
    state = trainer.fit(arrays)
    assert state.stop and state.epoch == 2  # epoch 1 sets the best, epoch 2 fails to beat it by 100


def test_pretrain_writes_a_loadable_model_and_resumes(histories, backbone, tmp_path) -> None:
    cfg = PretrainConfig.from_dict(
        {"objective": "clue", "max_events": 16,
         "encoder": {"dim": 16, "out_dim": 8, "heads": 2, "layers": 1},
         "train": {"epochs": 2, "batch_size": 8, "chunk_size": 8, "device": "cpu"}}
    )  # fmt: skip
    enc, state = pretrain(histories, tmp_path / "m", cfg, backbone=backbone, progress=False)
    assert (tmp_path / "m" / "user_encoder.json").exists()
    assert (tmp_path / "m" / "checkpoints" / "last.pt").exists()
    assert len((tmp_path / "m" / "metrics.jsonl").read_text().splitlines()) == 2
    feats = enc.encode(histories)
    assert feats.height == histories["user_id"].n_unique()
    more = cfg.with_overrides(epochs=3)
    _, state2 = pretrain(
        histories, tmp_path / "m", more, backbone=backbone, resume=True, progress=False
    )
    assert state2.epoch == 3 and len(state2.history) == 3


def test_config_sections_reject_unknown_keys() -> None:
    from byod.errors import ConfigError

    with pytest.raises(ConfigError, match=r"encoder: unknown key\(s\) \['width'\]"):
        PretrainConfig.from_dict({"encoder": {"width": 3}})
    with pytest.raises(ConfigError, match=r"train: unknown key"):
        PretrainConfig.from_dict({"train": {"epoch": 3}})
    cfg = PretrainConfig.from_dict({"loss": {"temperature": 0.1}})
    assert cfg.loss == {"temperature": 0.1, "learnable": True}


def test_a_wall_time_cap_starts_no_epoch_that_would_end_after_it(arrays) -> None:
    trainer = _trainer(arrays, epochs=5)
    trainer.config = trainer.config.__class__(**{**trainer.config.__dict__, "max_minutes": 0.0})
    state = trainer.fit(arrays)
    assert state.epoch == 1 and len(state.history) == 1
