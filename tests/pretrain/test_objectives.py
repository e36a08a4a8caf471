import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from byod.encoders.histories import HistoryArrays
from byod.encoders.sequence import SequenceEncoder, SequenceEncoderConfig
from byod.errors import ConfigError
from byod.losses import InfoNCELoss
from byod.pretrain.objectives import (
    ClueObjective,
    NotEnoughPairsError,
    ObjectiveMix,
    SlicesObjective,
    parse_objective_spec,
)
from byod.pretrain.run import PretrainConfig
from byod.pretrain.views import ClueViews, SlicesViews


@pytest.fixture(scope="module")
def arrays(histories, backbone) -> HistoryArrays:
    return HistoryArrays.build(histories, backbone)


def test_spec_parsing_and_errors() -> None:
    assert parse_objective_spec("clue") == [("clue", 1.0)]
    assert parse_objective_spec("clue:2, slices:0.5") == [("clue", 2.0), ("slices", 0.5)]
    for bad, match in [("clu", "unknown"), ("clue:0", "> 0"), ("clue:x", "> 0"),
                       ("clue,clue", "twice")]:  # fmt: skip
        with pytest.raises(ConfigError, match=match):
            parse_objective_spec(bad)
    with pytest.raises(ConfigError, match="unknown"):
        PretrainConfig(objective="clue:1,nope:1")
    assert PretrainConfig(objective="clue").inference_views == "services"
    assert PretrainConfig(objective="slices").inference_views == "timeline"
    assert PretrainConfig(objective="clue:1,slices:1").inference_views == "both"


def test_each_objective_loss_matches_a_hand_computed_case() -> None:
    """Each objective's loss on hand-made 2 x 2 embeddings (temperature 0.5)."""
    t = 0.5
    mix = ObjectiveMix(
        [
            ClueObjective(ClueViews(), InfoNCELoss(t)),
            SlicesObjective(SlicesViews(), InfoNCELoss(t)),
        ],
        [2.0, 0.5],
    )
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # perfect pairs: logits [[2, 0], [0, 2]]
    perfect = -math.log(math.exp(2) / (math.exp(2) + 1))
    c = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # swapped pairs: logits [[0, 2], [2, 0]]
    swapped = -math.log(1 / (math.exp(2) + 1))
    clue, slices = mix.objectives
    assert clue(a, b).item() == pytest.approx(perfect, rel=1e-6)
    assert slices(a, c).item() == pytest.approx(swapped, rel=1e-6)
    assert mix.weights == [2.0, 0.5]


def _model(arrays: HistoryArrays) -> SequenceEncoder:
    torch.manual_seed(0)
    cfg = SequenceEncoderConfig(input_dim=arrays.vectors.shape[1], dim=16, out_dim=8, heads=2,
                                layers=1, dropout=0.0, max_events=16,
                                n_services=len(arrays.services))  # fmt: skip
    return SequenceEncoder(cfg)


def test_mix_backward_weights_values_and_gradients(arrays) -> None:
    """The mix's value and gradients equal the weighted sum of each objective alone."""
    model = _model(arrays)
    table = torch.from_numpy(arrays.vectors)

    def embed(x):
        return model(table[x.events], x.mask, x.recency, x.service)

    clue = ClueObjective(ClueViews(max_events=16), InfoNCELoss(0.1))
    slices = SlicesObjective(SlicesViews(max_events=16), InfoNCELoss(0.1))
    users = np.intersect1d(clue.eligible(arrays), slices.eligible(arrays))[:10]
    mix = ObjectiveMix([clue, slices], [2.0, 0.5])
    mix.eligible(arrays)
    model.zero_grad()
    both = mix.backward(embed, arrays, users, np.random.default_rng(5), chunk_size=4)
    g_both = [p.grad.clone() for p in model.parameters()]
    # The same draws: the mix draws clue's pairs first, then slices' from the same generator.
    rng = np.random.default_rng(5)
    values, grads = [], []
    for obj, w in ((clue, 2.0), (slices, 0.5)):
        model.zero_grad()
        za, zb = (embed(x) for x in obj.pairs(arrays, users, rng))
        loss = w * obj(za, zb)
        loss.backward()
        values.append(loss.item())
        grads.append([p.grad.clone() for p in model.parameters()])
    assert both == pytest.approx(sum(values), rel=1e-5)
    for g, g1, g2 in zip(g_both, *grads, strict=True):
        torch.testing.assert_close(g, g1 + g2, atol=1e-5, rtol=1e-4)


def test_evaluate_total_is_weighted(arrays) -> None:
    model = _model(arrays).eval()
    table = torch.from_numpy(arrays.vectors)

    def embed(x):
        return model(table[x.events], x.mask, x.recency, x.service)

    mix = ObjectiveMix.parse("clue:2,slices:0.5", max_events=16)
    users = mix.eligible(arrays)
    out = mix.evaluate(embed, arrays, users, np.random.default_rng(0), 8, 4)
    assert out["total"] == pytest.approx(2 * out["clue"] + 0.5 * out["slices"])
    assert all(v > 0 for v in out.values())


def test_too_few_users_says_how_many_could_and_how_many_are_needed(events, backbone) -> None:
    from byod.data.serialize import serialize

    one_service = events.filter(events["user_id"].is_in(["u1", "u2", "u3"]))
    one_service = one_service.with_columns(service=np.array(["shop"] * one_service.height))
    arrays = HistoryArrays.build(serialize(one_service), backbone)
    with pytest.raises(NotEnoughPairsError, match=r"'clue': only 0 of 3 users .* at least 4"):
        ObjectiveMix.parse("clue", 16).eligible(arrays)
    with pytest.raises(NotEnoughPairsError, match=r"'slices': only 3 of 3 users"):
        ObjectiveMix.parse("slices", 16).eligible(arrays)


def test_cli_exits_2_with_one_line_when_data_is_too_small(events, backbone, tmp_path,
                                                          monkeypatch) -> None:  # fmt: skip
    from byod.cli.main import app
    from byod.data.serialize import serialize
    from byod.encoders import backbone as backbone_module

    monkeypatch.setattr(backbone_module, "open_backbone", lambda *a, **k: backbone)
    monkeypatch.setenv("BYOD_HOME", str(tmp_path / "home"))
    small = serialize(events.filter(events["user_id"].is_in(["u1", "u2", "u3"])))
    small.write_parquet(tmp_path / "h.parquet")
    args = ["pretrain", "--histories", str(tmp_path / "h.parquet"), "--out", str(tmp_path / "m"),
            "--objective", "clue", "--device", "cpu"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error")]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert "users can form pairs" in lines[0] and "at least 4 are needed" in lines[0]
    assert "only 3 of 3 users" in lines[0] or "of 3 users" in lines[0]
