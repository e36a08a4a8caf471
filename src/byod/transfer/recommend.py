"""Recommendation heads: (user features, item text vector) → score, trained on interactions.

Two variants share one training loop (sampled softmax: each positive against ``n_negatives``
uniformly drawn items, early stopping on the validation targets' sampled HR@10):

- ``dot``: two towers, ``score = <f(user), g(item)> + a * log(1 + popularity)``;
- ``mlp``: the dot score plus an MLP over ``[f(user), g(item), log-popularity]`` (NCF-style; the
  concatenation keeps full ranking cheap: its first layer splits into a user part and an item
  part computed once).

Items are described only by their text vector and their training popularity, so new items with
a description can be scored without retraining. With ``last_item`` (the default) the user side
also gets the text vector of the user's interaction just before the target: what last-item
co-occurrence reads directly and a pooled user vector blurs (on ML-1M it lifts sampled HR@10 of
the clue features from 0.589 to 0.669, docs/benchmarks.md).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from byod.errors import ConfigError, check_fitted
from byod.transfer.metrics import hit_rate_at_k, truth_ranks

__all__ = ["RecommendConfig", "RecommendHead"]


@dataclasses.dataclass(frozen=True)
class RecommendConfig:
    """Hyper-parameters of a recommendation head."""

    kind: str = "mlp"
    dim: int = 64
    hidden: int = 256
    pair_hidden: int = 64
    n_negatives: int = 64
    epochs: int = 15
    batch_size: int = 1024
    lr: float = 2e-3
    weight_decay: float = 1e-5
    patience: int = 2
    last_item: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("dot", "mlp"):
            raise ConfigError(f"recommend head kind must be 'dot' or 'mlp', got {self.kind!r}")


class _Scorer(nn.Module):
    def __init__(self, user_dim: int, item_dim: int, cfg: RecommendConfig) -> None:
        super().__init__()
        self.user = nn.Sequential(
            nn.Linear(user_dim, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, cfg.dim)
        )
        # One linear map for items: every step re-projects every item (cheap at this size).
        self.item = nn.Linear(item_dim, cfg.dim)
        self.pop = nn.Parameter(torch.zeros(()))
        self.mlp = cfg.kind == "mlp"
        if self.mlp:
            # Small on purpose: full ranking evaluates it on every (user, item) pair.
            self.first_user = nn.Linear(cfg.dim, cfg.pair_hidden)
            self.first_item = nn.Linear(cfg.dim + 1, cfg.pair_hidden, bias=False)
            self.out = nn.Linear(cfg.pair_hidden, 1)

    def towers(
        self, users: torch.Tensor, items: torch.Tensor, logpop: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Users ``(b, dim)``, ``(b, pair_hidden)``; items ``(n, dim)``, ``(n, pair_hidden)``."""
        u, v = self.user(users), self.item(items)
        if not self.mlp:
            return u, None, v, None
        return u, self.first_user(u), v, self.first_item(torch.cat([v, logpop[:, None]], 1))

    def score(
        self, towers: tuple[torch.Tensor, ...], cand: torch.Tensor | None, logpop: torch.Tensor
    ) -> torch.Tensor:
        """Scores ``(b, c)`` of candidates ``cand`` ``(b, c)`` item indices (None = all items)."""
        u, hu, v, hv = towers
        if cand is None:
            dot = u @ v.T + self.pop * logpop
            if self.mlp:  # (b, n, hidden) in chunks is the caller's job (score_all)
                dot = dot + self.out(torch.relu(hu[:, None] + hv[None])).squeeze(-1)
            return dot
        dot = (u[:, None] * v[cand]).sum(-1) + self.pop * logpop[cand]
        if self.mlp:
            dot = dot + self.out(torch.relu(hu[:, None] + hv[cand])).squeeze(-1)
        return dot


class RecommendHead:
    """Scores (user feature, item) pairs; ``fit`` returns ``self``, learned state ends in ``_``."""

    def __init__(self, config: RecommendConfig | None = None) -> None:
        self.config = config or RecommendConfig()

    def fit(
        self,
        users: np.ndarray,
        positives: np.ndarray,
        item_vectors: np.ndarray,
        item_counts: np.ndarray,
        *,
        valid: tuple[np.ndarray, np.ndarray] | None = None,
        progress: bool = False,
    ) -> RecommendHead:
        """Train on (user, next item) pairs.

        Args:
            users: ``(n, d_user)`` user features, each from events before its target.
            positives: ``(n,)`` target item indices.
            item_vectors: ``(n_items, d_item)`` item text vectors.
            item_counts: ``(n_items,)`` training interaction counts (popularity).
            valid: optional ``(users, positives)`` for early stopping on sampled HR@10.
            progress: show a progress bar per epoch.

        """
        cfg = self.config
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        self.item_vectors_ = torch.as_tensor(item_vectors, dtype=torch.float32)
        self.logpop_ = torch.log1p(torch.as_tensor(item_counts, dtype=torch.float32))
        self.model_ = _Scorer(users.shape[1], item_vectors.shape[1], cfg)
        opt = torch.optim.AdamW(self.model_.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        x = torch.as_tensor(users, dtype=torch.float32)
        y = torch.as_tensor(positives, dtype=torch.int64)
        n_items = len(item_vectors)
        best, best_state, waited, self.history_ = -1.0, None, 0, []
        for epoch in range(cfg.epochs):
            self.model_.train()
            order = torch.as_tensor(rng.permutation(len(x)))
            batches = range(0, len(x), cfg.batch_size)
            losses = []
            for start in tqdm(
                batches,
                desc=f"head epoch {epoch + 1}",
                disable=not progress,
                leave=False,
                unit="batch",
            ):
                idx = order[start : start + cfg.batch_size]
                neg = torch.as_tensor(rng.integers(0, n_items, (len(idx), cfg.n_negatives)))
                cand = torch.cat([y[idx, None], neg], 1)
                towers = self.model_.towers(x[idx], self.item_vectors_, self.logpop_)
                logits = self.model_.score(towers, cand, self.logpop_)
                # A sampled negative equal to the positive is not a negative.
                logits[:, 1:] = logits[:, 1:].masked_fill(neg == y[idx, None], -math.inf)
                loss = nn.functional.cross_entropy(logits, torch.zeros(len(idx), dtype=torch.long))
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
            record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses))}
            if valid is not None:
                record["valid_hr@10"] = self._valid_hr(*valid)
                if record["valid_hr@10"] > best:
                    best, waited = record["valid_hr@10"], 0
                    best_state = {k: t.clone() for k, t in self.model_.state_dict().items()}
                else:
                    waited += 1
            self.history_.append(record)
            if valid is not None and waited >= cfg.patience:
                break
        if best_state is not None:
            self.model_.load_state_dict(best_state)
        return self

    def _valid_hr(self, users: np.ndarray, positives: np.ndarray) -> float:
        rng = np.random.default_rng(12345)  # the same candidates every epoch
        neg = rng.integers(0, len(self.item_vectors_), (len(positives), 100))
        cand = np.concatenate([positives[:, None], neg], 1)
        scores = self.score(users, cand)
        scores[:, 1:][neg == positives[:, None]] = -np.inf
        ranks, ties = truth_ranks(scores, np.zeros(len(positives), dtype=np.int64))
        return hit_rate_at_k(ranks, 10, ties=ties)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The fitted weights, item vectors and log-popularity as plain tensors (safetensors)."""
        check_fitted(self, "model_")
        state = {f"model.{k}": v.detach().contiguous() for k, v in self.model_.state_dict().items()}
        return {**state, "item_vectors": self.item_vectors_, "logpop": self.logpop_}

    @classmethod
    def from_state_tensors(
        cls, config: RecommendConfig, tensors: dict[str, torch.Tensor]
    ) -> RecommendHead:
        """Inverse of :meth:`state_tensors` (raises ``ConfigError`` if they do not fit)."""
        head = cls(config)
        head.item_vectors_ = tensors["item_vectors"].float()
        head.logpop_ = tensors["logpop"].float()
        state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        user_dim = state["user.0.weight"].shape[1]
        head.model_ = _Scorer(user_dim, head.item_vectors_.shape[1], config)
        try:
            head.model_.load_state_dict(state)
        except RuntimeError as exc:
            raise ConfigError(f"recommend head weights do not fit its config: {exc}") from None
        head.model_.eval()
        return head

    @torch.no_grad()
    def retrieval_query(self, users: np.ndarray) -> np.ndarray:
        """Item-space queries ``(n, d_item)`` for user inputs ``(n, d_user)``.

        The item tower is linear, so ``<f(u), W v + b> = <W^T f(u), v> + const(u)``: an
        inner-product search of the raw item vectors with these queries ranks items exactly as
        the dot part of the score does (an ANN index over item vectors serves as first stage).
        """
        self.model_.eval()
        u = self.model_.user(torch.as_tensor(users, dtype=torch.float32))
        return (u @ self.model_.item.weight).numpy().astype(np.float32)

    @torch.no_grad()
    def score(
        self, users: np.ndarray, candidates: np.ndarray | None = None, *, batch_size: int = 64
    ) -> np.ndarray:
        """Scores ``(n, c)`` for candidate item indices ``(n, c)``, or ``(n, n_items)`` for all."""
        check_fitted(self, "model_")
        self.model_.eval()
        x = torch.as_tensor(users, dtype=torch.float32)
        out = []
        for start in range(0, len(x), batch_size):
            towers = self.model_.towers(
                x[start : start + batch_size], self.item_vectors_, self.logpop_
            )
            cand = (
                None
                if candidates is None
                else torch.as_tensor(candidates[start : start + batch_size])
            )
            out.append(self.model_.score(towers, cand, self.logpop_).numpy())
        return np.concatenate(out).astype(np.float32)
