"""Label-error audit (PICO): multi-split checkers vote, label beliefs update round after round."""

from byod.labels.audit import AuditResult, audit, update_posterior
from byod.labels.noise import corrupt

__all__ = ["AuditResult", "audit", "update_posterior", "corrupt"]
