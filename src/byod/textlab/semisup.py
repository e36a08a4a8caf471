"""Semi-supervised head training: labelled + LLM soft labels + FixMatch-style consistency.

The sentence encoder stays frozen (on a 2-core CPU fine-tuning it per task costs minutes per
epoch; its vectors are computed once and cached), and a small head learns from four signals:

* labelled texts, cross-entropy on their labels;
* LLM-augmented texts, cross-entropy against their **soft** labels (weight ``aug_weight``);
* unlabelled texts, FixMatch: the head's prediction on a *weak* view (the text itself) becomes a
  hard target for a *strong* view (token dropout, or an LLM paraphrase) when it is confident
  (``>= threshold``). When the LLM's soft label of the unlabelled text is known, the target comes
  from the product of the two distributions (the head's and the LLM's), so early on, while the
  head knows little, confident LLM labels lead; later the two must agree. The targets are kept
  from collapsing onto the majority class in two ways (``balance``): *distribution alignment*
  (ReMixMatch, Berthelot et al. 2020) rescales every target distribution by
  ``prior / mean target`` so their marginal matches the labelled class distribution, and the
  confident pseudo-labels are *class-balanced*: each class's share of the consistency loss is
  the same however many texts it claims;
* unlabelled texts with LLM soft labels, distillation: soft cross-entropy between the head on a
  strong view and the LLM's distribution (``distill_weight``). Measured on Rotten Tomatoes
  (8 labels per class, 1,000 unlabelled, SmolLM2 as the teacher), this term carries most of
  the gain; FixMatch on top adds ~2-3 points, while FixMatch *without* an LLM lowered accuracy
  (the frozen-feature head's confident mistakes feed themselves): ``docs/benchmarks.md``.

All data are small (thousands of rows), so every step is full-batch. With the labels as the
only signal (no LLM examples, soft labels or unlabelled views) a linear head is byod's supervised
baseline itself (``labels_only="logistic"``): logistic regression with ``C`` by cross-validation
(:class:`~byod.transfer.heads.LogisticHead`), written into the linear layer. The gradient-trained
head it replaces (300 AdamW steps, fixed weight decay) scored below that baseline with no
usable teacher (3i4k, 5 seeds: macro-F1 0.425 vs 0.435), and HyperMatch must never be worse
than its own supervised baseline.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from byod.errors import check_fitted
from byod.progress import Progress
from byod.textlab.errors import LabelSetError, ShapeError, TextlabError

__all__ = [
    "SSLConfig",
    "HyperMatchHead",
    "Standardize",
    "token_dropout",
    "head_network",
    "align_distribution",
    "class_balanced_weights",
    "BALANCE",
]


@dataclasses.dataclass(frozen=True)
class SSLConfig:
    """Training settings (FixMatch's threshold; the rest checked on Rotten Tomatoes, 8 per class).

    Attributes:
        steps: full-batch optimisation steps.
        warmup: supervised-only steps before the unlabelled loss switches on.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        hidden: hidden units of the head (0: linear).
        aug_weight: weight of the soft-label loss on augmented texts.
        unlabelled_weight: weight of the consistency loss.
        threshold: confidence a weak-view target needs to count.
        llm_weight: exponent of the LLM distribution in the target product (0: ignore it).
        distill_weight: weight of the soft cross-entropy between the head on a strong view of
            each unlabelled text and the LLM's soft label (0: off).
        standardize: scale features to zero mean, unit variance (statistics over every vector
            the head sees, labelled or not) before the head.
        balance: how FixMatch targets avoid collapsing onto the majority class: ``align``
            (distribution alignment to the labelled class distribution), ``weight`` (each
            class's confident pseudo-labels weigh the same in total), ``align+weight``
            (both, the default) or ``none`` (plain FixMatch).
        labels_only: how a linear head (``hidden == 0``) trains when the labels are its only
            signal and every class has one: ``logistic`` (logistic regression, ``C`` by
            cross-validation, as the supervised baseline; the default) or ``sgd`` (the steps
            above, labelled loss only).
    """

    steps: int = 300
    warmup: int = 50
    lr: float = 1e-2
    weight_decay: float = 1e-3
    hidden: int = 0
    aug_weight: float = 1.0
    unlabelled_weight: float = 1.0
    threshold: float = 0.9
    llm_weight: float = 1.0
    distill_weight: float = 1.0
    standardize: bool = False
    balance: str = "align+weight"
    labels_only: str = "logistic"

    def __post_init__(self) -> None:
        if self.balance not in BALANCE:
            raise TextlabError(f"balance {self.balance!r} is unknown; choose one of {BALANCE}")
        if self.labels_only not in LABELS_ONLY:
            raise TextlabError(
                f"labels_only {self.labels_only!r} is unknown; choose one of {LABELS_ONLY}"
            )


BALANCE = ("align+weight", "align", "weight", "none")
LABELS_ONLY = ("logistic", "sgd")


class HyperMatchHead:
    """A classifier head on frozen text vectors, trained semi-supervised (sklearn-style).

    Args:
        config: training settings.
        seed: initialisation seed.
        progress: report the training steps (see :mod:`byod.progress`).
    """

    def __init__(
        self, config: SSLConfig = SSLConfig(), seed: int = 0, progress: bool = False
    ) -> None:
        self.config = config
        self.seed = seed
        self.progress = progress

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        x_aug: np.ndarray | None = None,
        p_aug: np.ndarray | None = None,
        x_weak: np.ndarray | None = None,
        x_strong: np.ndarray | None = None,
        p_llm: np.ndarray | None = None,
        classes: np.ndarray | None = None,
    ) -> HyperMatchHead:
        """Train.

        Args:
            x: ``(n_lab, dim)`` labelled vectors.
            y: ``(n_lab,)`` their labels.
            x_aug: ``(n_aug, dim)`` augmented vectors.
            p_aug: ``(n_aug, n_classes)`` their soft labels (columns in ``classes`` order).
            x_weak: ``(n_unl, dim)`` unlabelled vectors (the weak view).
            x_strong: ``(n_views, n_unl, dim)`` or ``(n_unl, dim)`` strong views of the same
                texts; one view is drawn per step.
            p_llm: ``(n_unl, n_classes)`` the LLM's soft labels of the unlabelled texts.
            classes: the label order (default: sorted unique ``y``).
        """
        self.classes_ = np.asarray(classes if classes is not None else np.unique(y))
        y_idx = _indices(y, self.classes_)
        torch.manual_seed(self.seed)
        self.head_ = head_network(
            x.shape[1], len(self.classes_), self.config.hidden, self.config.standardize
        )
        if self.config.standardize:
            seen = [a for a in (x, x_aug, x_weak) if a is not None and len(a)]
            self.head_[0].fit(np.vstack(seen))
        self.trained_by_ = "sgd"
        extra = [a for a in (x_aug, x_weak, p_llm) if a is not None and len(a)]
        every_class = len(np.unique(y_idx)) == len(self.classes_)
        linear = self.config.hidden <= 0 and self.config.labels_only == "logistic"
        if linear and every_class and not extra:
            return self._fit_logistic(x, y_idx)
        opt = torch.optim.AdamW(
            self.head_.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        batch = _Batch.build(x, y_idx, x_aug, p_aug, x_weak, x_strong, p_llm, len(self.classes_))
        rng = np.random.default_rng(self.seed)
        self.history_: list[dict[str, float]] = []
        bar = Progress(self.config.steps, "train head", "step", enabled=self.progress)
        for step in range(self.config.steps):
            losses = self._losses(batch, step, rng)
            total = sum(losses.values())
            opt.zero_grad()
            total.backward()
            opt.step()
            self.history_.append({k: float(v.detach()) for k, v in losses.items()})
            bar.update(1)
        bar.close()
        self.head_.eval()
        return self

    def _fit_logistic(self, x: np.ndarray, y_idx: np.ndarray) -> HyperMatchHead:
        """Labels only: the supervised baseline's logistic regression, as the linear layer.

        ``LogisticHead`` scales each column, ``(x - mean) / scale``, then ``z = W s + b``; the
        scaling is folded into the layer (``W / scale``, ``b - (W / scale) . mean``). A binary
        model's single row ``w`` becomes the logits ``(0, w.x + b)``: the same sigmoid.
        """
        from threadpoolctl import threadpool_limits

        from byod.transfer.heads import LogisticHead

        with torch.no_grad():
            inputs = self.head_[0](torch.as_tensor(x, dtype=torch.float32)).numpy()
        with threadpool_limits(1):  # a few dozen rows: threads only contend
            model = LogisticHead().fit(inputs.astype(np.float64), y_idx)
        steps = model.pipeline_.steps
        lr = steps[-1][1]
        weight, bias = np.asarray(lr.coef_, dtype=np.float64), np.asarray(lr.intercept_)
        if weight.shape[0] == 1:  # binary: one row for the positive (second) class
            weight, bias = np.vstack([np.zeros_like(weight), weight]), np.r_[0.0, bias]
        if len(steps) > 1:
            scaler = steps[0][1]
            weight = weight / scaler.scale_
            bias = bias - weight @ scaler.mean_
        layer = self.head_[-1]
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            layer.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        self.trained_by_ = "logistic"
        self.tuned_params_ = model.tuned_params_
        self.history_ = []
        self.head_.eval()
        return self

    def _losses(self, b: _Batch, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        cfg = self.config
        out = {"labelled": nn.functional.cross_entropy(self.head_(b.x), b.y)}
        if b.x_aug is not None and cfg.aug_weight > 0:
            logp = torch.log_softmax(self.head_(b.x_aug), dim=1)
            out["augmented"] = cfg.aug_weight * -(b.p_aug * logp).sum(dim=1).mean()
        if b.x_weak is not None and step >= cfg.warmup and cfg.unlabelled_weight > 0:
            out["consistency"] = cfg.unlabelled_weight * self._consistency(b, rng)
        if b.p_llm is not None and cfg.distill_weight > 0:
            strong = b.x_strong[rng.integers(len(b.x_strong))]
            logp = torch.log_softmax(self.head_(strong), dim=1)
            out["distill"] = cfg.distill_weight * -(b.p_llm * logp).sum(dim=1).mean()
        return out

    def _consistency(self, b: _Batch, rng: np.random.Generator) -> torch.Tensor:
        balance = self.config.balance
        with torch.no_grad():
            q = torch.softmax(self.head_(b.x_weak), dim=1)
            if b.p_llm is not None and self.config.llm_weight > 0:
                q = q * b.p_llm.clamp_min(1e-6) ** self.config.llm_weight
                q = q / q.sum(dim=1, keepdim=True)
            if "align" in balance:
                q = align_distribution(q, b.prior)
            conf, target = q.max(dim=1)
            mask = (conf >= self.config.threshold).float()
            if "weight" in balance:
                mask = mask * class_balanced_weights(target, mask, len(b.prior))
        self.mask_rate_ = float((mask > 0).float().mean())
        self.pseudo_label_counts_ = torch.bincount(target[mask > 0], minlength=len(b.prior))
        strong = b.x_strong[rng.integers(len(b.x_strong))]
        ce = nn.functional.cross_entropy(self.head_(strong), target, reduction="none")
        return (ce * mask).mean()

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``(n, n_classes)`` probabilities, columns in ``classes_`` order."""
        check_fitted(self, "head_")
        with torch.no_grad():
            logits = self.head_(torch.as_tensor(np.asarray(x), dtype=torch.float32))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``(n,)`` predicted labels."""
        proba = self.predict_proba(x)  # checks fitted first
        return self.classes_[proba.argmax(axis=1)]


def align_distribution(q: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """Distribution alignment: ``q · prior / mean(q)``, renormalised per row.

    Args:
        q: ``(n, k)`` target distributions over the unlabelled batch.
        prior: ``(k,)`` the class distribution the targets should have on average.

    Returns:
        ``(n, k)`` aligned distributions; a class the targets over-claim is scaled down.
    """
    marginal = q.mean(dim=0).clamp_min(1e-6)
    aligned = q * (prior / marginal)
    return aligned / aligned.sum(dim=1, keepdim=True)


def class_balanced_weights(target: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """``(n,)`` weights that give each class's confident pseudo-labels the same total weight.

    A class with ``m_c`` of the ``m`` confident targets gets ``m / (k_present · m_c)`` per text,
    so the weights of the confident texts still sum to ``m`` (the loss scale is unchanged).
    """
    counts = torch.bincount(target[mask > 0], minlength=k).float()
    present = int((counts > 0).sum())
    if present == 0:
        return torch.zeros_like(mask)
    per_class = torch.where(counts > 0, mask.sum() / (present * counts.clamp_min(1)), 0.0)
    return per_class[target]


@dataclasses.dataclass
class _Batch:
    x: torch.Tensor
    y: torch.Tensor
    x_aug: torch.Tensor | None
    p_aug: torch.Tensor | None
    x_weak: torch.Tensor | None
    x_strong: torch.Tensor | None  # (n_views, n_unl, dim)
    p_llm: torch.Tensor | None
    prior: torch.Tensor  # (k,) the labelled class distribution: the target of alignment

    @classmethod
    def build(cls, x, y_idx, x_aug, p_aug, x_weak, x_strong, p_llm, k: int) -> _Batch:  # noqa: ANN001
        t = lambda a: None if a is None else torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
        if (x_aug is None) != (p_aug is None):
            raise ShapeError("give both x_aug and p_aug, or neither")
        if p_aug is not None and np.asarray(p_aug).shape != (len(x_aug), k):
            raise ShapeError(f"p_aug must be (n_aug, {k}); got {np.asarray(p_aug).shape}")
        if x_weak is not None:
            x_strong = x_weak if x_strong is None else x_strong
            x_strong = np.asarray(x_strong)
            x_strong = x_strong[None] if x_strong.ndim == 2 else x_strong
            if x_strong.shape[1:] != np.asarray(x_weak).shape:
                raise ShapeError(
                    f"x_strong {x_strong.shape} does not match x_weak {np.shape(x_weak)}"
                )
        if p_llm is not None and (x_weak is None or np.asarray(p_llm).shape != (len(x_weak), k)):
            raise ShapeError(f"p_llm must be (n_unl, {k}) alongside x_weak")
        if x_aug is not None and len(x_aug) == 0:
            x_aug = p_aug = None
        prior = np.bincount(y_idx, minlength=k).astype(np.float32) + 1e-3
        return cls(
            t(x), torch.as_tensor(y_idx), t(x_aug), t(p_aug), t(x_weak), t(x_strong), t(p_llm),
            torch.as_tensor(prior / prior.sum()),
        )  # fmt: skip


class Standardize(nn.Module):
    """Fixed ``(x - mean) / std`` with the statistics as buffers (saved with the weights)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, x: np.ndarray) -> Standardize:
        """Set the statistics from ``(n, dim)`` vectors."""
        self.mean.copy_(torch.as_tensor(x.mean(axis=0)))
        self.std.copy_(torch.as_tensor(x.std(axis=0)).clamp_min(1e-6))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, dim) -> (n, dim)``."""
        return (x - self.mean) / self.std


def head_network(dim: int, k: int, hidden: int, standardize: bool = True) -> nn.Sequential:
    """Standardise (optional), then linear (``hidden == 0``) or a one-hidden-layer MLP.

    ``(n, dim) -> (n, k)`` logits.
    """
    first = [Standardize(dim)] if standardize else [nn.Identity()]
    if hidden <= 0:
        return nn.Sequential(*first, nn.Linear(dim, k))
    return nn.Sequential(
        *first, nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.1), nn.Linear(hidden, k)
    )


def _indices(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    missing = sorted({str(v) for v in np.asarray(y).tolist() if v not in lookup})
    if missing:
        raise LabelSetError(f"labels {missing} are not among classes {classes.tolist()}")
    return np.asarray([lookup[v] for v in np.asarray(y).tolist()], dtype=np.int64)


def token_dropout(texts: list[str], rate: float, rng: np.random.Generator) -> list[str]:
    """A strong view: each word dropped with probability ``rate`` (at least one word kept)."""
    out = []
    for text in texts:
        words = text.split()
        keep = rng.random(len(words)) >= rate
        if words and not keep.any():
            keep[rng.integers(len(words))] = True
        out.append(" ".join(w for w, k in zip(words, keep, strict=True) if k))
    return out
