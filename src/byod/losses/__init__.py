"""Pretraining losses, one per file."""

from byod.losses.info_nce import InfoNCELoss
from byod.losses.sampled_softmax import SampledSoftmaxLoss, sample_candidates
from byod.losses.set_softmax import SetSoftmaxLoss

__all__ = ["InfoNCELoss", "SampledSoftmaxLoss", "SetSoftmaxLoss", "sample_candidates"]
