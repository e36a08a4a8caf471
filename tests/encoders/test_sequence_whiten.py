"""Whitening applied once to a table equals whitening inside every call."""

import torch

from byod.encoders.sequence import SequenceEncoder, SequenceEncoderConfig


def test_a_prewhitened_table_gives_the_same_items_and_states() -> None:
    torch.manual_seed(0)
    model = SequenceEncoder(SequenceEncoderConfig(input_dim=6, dim=8, heads=2, layers=1,
                                                  causal=True, whiten=True)).eval()  # fmt: skip
    table = torch.randn(20, 6) * torch.tensor([5.0, 1, 1, 0.1, 2, 3])
    model.fit_whitening(table)
    white = model.whiten_vectors(table)
    cov = torch.cov(white.T)  # decorrelated; variances <= 1 (near-empty directions shrunk)
    assert torch.allclose(cov - torch.diag(cov.diag()), torch.zeros(6, 6), atol=1e-4)
    assert (cov.diag() <= 1.0 + 1e-4).all() and cov.diag().max() > 0.9
    torch.testing.assert_close(model.embed_items(white, whitened=True), model.embed_items(table))
    events = torch.tensor([[0, 3, 5], [7, 2, 0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    days, service = torch.zeros(2, 3), torch.ones(2, dtype=torch.long)
    torch.testing.assert_close(
        model.states(white[events], mask, days, service, whitened=True),
        model.states(table[events], mask, days, service),
    )
