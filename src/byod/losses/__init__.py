"""Pretraining losses, one per file."""

from byod.losses.info_nce import InfoNCELoss
from byod.losses.sampled_softmax import SampledSoftmaxLoss, sample_candidates

__all__ = ["InfoNCELoss", "SampledSoftmaxLoss", "sample_candidates"]
