"""Contrastive losses, one per file."""

from byod.losses.info_nce import InfoNCELoss

__all__ = ["InfoNCELoss"]
