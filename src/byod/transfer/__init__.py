"""Transfer: small heads on frozen user features, ranking metrics and honest baselines."""

from byod.transfer.heads import HEADS, LogisticHead, MajorityHead, MLPHead, make_head
from byod.transfer.metrics import hit_rate_at_k, mrr, ndcg_at_k, ranking_metrics, truth_ranks
from byod.transfer.nextitem import NextItemTask, evaluate_scores, next_item_task
from byod.transfer.recommend import RecommendConfig, RecommendHead

__all__ = [
    "HEADS",
    "LogisticHead",
    "MLPHead",
    "MajorityHead",
    "make_head",
    "hit_rate_at_k",
    "mrr",
    "ndcg_at_k",
    "ranking_metrics",
    "truth_ranks",
    "NextItemTask",
    "next_item_task",
    "evaluate_scores",
    "RecommendConfig",
    "RecommendHead",
]
