"""Fine-tune the sentence encoder inside HyperMatch: SetFit pairs + LLM soft labels + FixMatch.

One training loop over a *copy* of the sentence-transformers model (the caller's backbone and its
vector cache stay untouched). Every step has up to three terms:

* **contrastive** (SetFit, Tunstall et al. 2022): pairs of labelled texts, same class 1 /
  different class 0, sampled as SetFit 1.x does (per iteration one positive and one negative
  pair per text), scored by sentence-transformers' own
  :class:`~sentence_transformers.losses.CosineSimilarityLoss` (or ``ContrastiveLoss``). The
  batch's texts are embedded once each, so a pair batch costs its unique texts, not ``2 ×``;
* **distillation**: soft cross-entropy between the LLM's soft labels (of the unlabelled texts,
  on a strong view; of the LLM-written texts, as they are) and a *prototype classifier*:
  ``scale · cos(embedding, class mean of the labelled texts in this step)``. It has no weights
  of its own, so nothing needs a learning rate of its own on a few dozen steps, and it lives in
  the same cosine geometry the contrastive loss shapes;
* **FixMatch** on unlabelled texts: the prototype classifier on the weak view (the text, no
  gradient), times the LLM's soft label when there is one, distribution-aligned and
  class-balanced as in :mod:`byod.textlab.semisup`, is a hard target for a strong view
  (token dropout) when confident.

With no LLM soft labels and FixMatch off (the teacher check rejected the LLM), only the first
term is left: the loop *is* SetFit's body training, and the head that follows is trained on the
fine-tuned vectors, so the method reduces to SetFit (+ HyperMatch's head).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from byod.encoders.backbone import SentenceTransformerBackbone, TextBackbone
from byod.progress import Progress
from byod.textlab.errors import TextlabError
from byod.textlab.semisup import align_distribution, class_balanced_weights, token_dropout

__all__ = ["FinetuneConfig", "FINETUNE_LOSSES", "finetune_encoder", "setfit_pairs"]

FINETUNE_LOSSES = ("cosine", "contrastive")


@dataclasses.dataclass(frozen=True)
class FinetuneConfig:
    """Settings of the encoder fine-tune (SetFit 1.x's defaults where it has one).

    Attributes:
        num_iterations: SetFit's pair iterations: ``2 · num_iterations`` pairs per labelled text.
        epochs: passes over the pairs.
        batch_size: pairs per step (and unlabelled texts per step).
        lr: AdamW learning rate of the encoder (SetFit's body learning rate).
        warmup: share of the steps with a linearly rising learning rate (then linear decay).
        max_seq_length: tokens per text while fine-tuning (the model's own length is restored
            for encoding afterwards).
        loss: ``cosine`` (CosineSimilarityLoss, SetFit's) or ``contrastive`` (ContrastiveLoss).
        distill_weight: weight of the soft cross-entropy to the LLM's soft labels.
        consistency_weight: weight of the FixMatch term.
        consistency_start: share of the steps before FixMatch switches on (the prototypes
            mean little before the contrastive term has separated the classes).
        threshold: confidence a weak-view target needs to count.
        llm_weight: exponent of the LLM distribution in the FixMatch target product.
        scale: inverse temperature of the prototype classifier's cosine logits.
        dropout_rate: share of words a strong view drops.
        train_embeddings: also train the token-embedding matrix (SetFit does). ``False`` saves
            its gradients and AdamW state: on multilingual-e5-small (250 K tokens) about 1.1 GB
            of the fit's peak memory; not measured for accuracy yet.
    """

    num_iterations: int = 20
    epochs: int = 1
    batch_size: int = 16
    lr: float = 2e-5
    warmup: float = 0.1
    max_seq_length: int = 64
    loss: str = "cosine"
    distill_weight: float = 0.5
    consistency_weight: float = 0.5
    consistency_start: float = 0.25
    threshold: float = 0.9
    llm_weight: float = 1.0
    scale: float = 20.0
    dropout_rate: float = 0.2
    train_embeddings: bool = True

    def __post_init__(self) -> None:
        if self.loss not in FINETUNE_LOSSES:
            raise TextlabError(f"loss {self.loss!r} is unknown; choose one of {FINETUNE_LOSSES}")
        if self.num_iterations < 1 or self.epochs < 1 or self.batch_size < 2:
            raise TextlabError("num_iterations and epochs must be >= 1, batch_size >= 2")


def setfit_pairs(
    labels: Sequence[str], num_iterations: int, rng: np.random.Generator
) -> np.ndarray:
    """``(n_pairs, 3)`` int rows ``(i, j, same)``: SetFit 1.x's pair sampling.

    Per iteration, each labelled text gets one positive partner (same class, another text when
    there is one) and one negative partner (any other class), so a class with one text still
    yields pairs. ``n_pairs = 2 · num_iterations · len(labels)`` (fewer when a pair is impossible).
    """
    y = np.asarray(labels)
    by_class = {c: np.flatnonzero(y == c) for c in np.unique(y)}
    rows = []
    for _ in range(num_iterations):
        for i, c in enumerate(y):
            same = by_class[c]
            others = same[same != i]
            pos = others if len(others) else same
            rows.append((i, int(rng.choice(pos)), 1))
            neg = np.flatnonzero(y != c)
            if len(neg):
                rows.append((i, int(rng.choice(neg)), 0))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def finetune_encoder(
    backbone: TextBackbone,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    classes: Sequence[str],
    config: FinetuneConfig = FinetuneConfig(),
    unlabelled: Sequence[str] = (),
    p_llm: np.ndarray | None = None,
    consistency: bool = False,
    aug_texts: Sequence[str] = (),
    p_aug: np.ndarray | None = None,
    seed: int = 0,
    progress: bool = False,
) -> tuple[SentenceTransformerBackbone, dict[str, Any]]:
    """Fine-tune a copy of ``backbone``'s model; return it as a backbone and the loop's record.

    Args:
        backbone: a :class:`SentenceTransformerBackbone` (or a wrapper with ``.model``).
        texts: ``n`` labelled texts.
        labels: their labels (in ``classes``).
        classes: the label order of ``p_llm`` / ``p_aug`` columns.
        config: see :class:`FinetuneConfig`.
        unlabelled: texts without labels (distillation and / or FixMatch).
        p_llm: ``(len(unlabelled), k)`` the LLM's soft labels; ``None``: no distillation.
        consistency: FixMatch on ``unlabelled``.
        aug_texts: LLM-written texts.
        p_aug: ``(len(aug_texts), k)`` their soft labels.
        seed: pair sampling, batches, views and dropout.
        progress: report the steps.

    Returns:
        The fine-tuned backbone (same name and prompt; a fingerprint of its new weights, so a
        vector cache never mixes its vectors with the original's) and ``{"steps", "pairs",
        "terms", "loss_first", "loss_last", "mask_rate"}``.
    """
    from sentence_transformers.sentence_transformer import losses

    model = getattr(backbone, "model", None) or getattr(getattr(backbone, "_backbone", None),
                                                        "model", None)  # fmt: skip
    if model is None:
        raise TextlabError("encoder 'finetune' needs a sentence-transformers backbone")
    prompt = str(getattr(backbone, "prompt", ""))
    classes = list(classes)
    y = np.asarray([classes.index(v) for v in labels], dtype=np.int64)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = copy.deepcopy(model)
    length, model.max_seq_length = model.max_seq_length, config.max_seq_length
    loss_fn = (losses.CosineSimilarityLoss(model) if config.loss == "cosine"
               else losses.ContrastiveLoss(model))  # fmt: skip
    pairs = np.concatenate([setfit_pairs(labels, config.num_iterations, rng)
                            for _ in range(config.epochs)])  # fmt: skip
    pairs = pairs[rng.permutation(len(pairs))]
    steps = int(np.ceil(len(pairs) / config.batch_size))
    if not config.train_embeddings:
        for module in model.modules():  # the transformer's token table (not positions)
            if hasattr(module, "get_input_embeddings") and isinstance(module, nn.Module):
                table = module.get_input_embeddings()
                if isinstance(table, nn.Embedding):
                    table.weight.requires_grad_(False)
    # foreach=False: no temporary copies of every parameter at each step (peak memory on CPU).
    trained = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=config.lr, foreach=False)
    warm = max(1, round(config.warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm))
    )
    unl = list(unlabelled)
    distill = p_llm is not None and len(unl) > 0 and config.distill_weight > 0
    fixmatch = consistency and len(unl) > 0 and config.consistency_weight > 0
    use_aug = p_aug is not None and len(aug_texts) > 0 and config.distill_weight > 0
    t_llm = None if p_llm is None else torch.as_tensor(np.asarray(p_llm), dtype=torch.float32)
    t_aug = None if p_aug is None else torch.as_tensor(np.asarray(p_aug), dtype=torch.float32)
    prior = torch.as_tensor(np.bincount(y, minlength=len(classes)) + 1e-3, dtype=torch.float32)
    prior = prior / prior.sum()
    record: dict[str, Any] = {"steps": steps, "pairs": len(pairs), "mask_rate": None,
                              "terms": ["contrastive"] + ["distill"] * distill
                              + ["consistency"] * fixmatch + ["augmented"] * use_aug}  # fmt: skip
    history: list[float] = []

    def embed(batch: list[str]) -> torch.Tensor:
        # sentence-transformers >= 6 renamed tokenize to preprocess (the old name warns).
        prepare = getattr(model, "preprocess", None) or model.tokenize
        features = prepare([prompt + t for t in batch])
        features = {k: v.to(model.device) if isinstance(v, torch.Tensor) else v
                    for k, v in features.items()}  # fmt: skip
        return model(features)["sentence_embedding"]

    def proto_logits(e: torch.Tensor, protos: torch.Tensor) -> torch.Tensor:
        return config.scale * nn.functional.normalize(e, dim=1) @ protos.T

    model.train()
    bar = Progress(steps, "fine-tune encoder", "step", enabled=progress)
    for step in range(steps):
        batch = pairs[step * config.batch_size : (step + 1) * config.batch_size]
        ids = np.unique(batch[:, :2])
        where = {int(i): j for j, i in enumerate(ids)}
        e_lab = embed([texts[i] for i in ids])
        pair_e = [e_lab[[where[int(i)] for i in batch[:, c]]] for c in (0, 1)]
        total = loss_fn.compute_loss_from_embeddings(pair_e, torch.as_tensor(batch[:, 2]).float())
        if distill or fixmatch or use_aug:
            protos = _prototypes(e_lab, torch.as_tensor(y[ids]), len(classes))
        if distill or fixmatch:
            pick = rng.choice(len(unl), size=min(config.batch_size, len(unl)), replace=False)
            chosen = [unl[i] for i in pick]
            logp = torch.log_softmax(
                proto_logits(embed(token_dropout(chosen, config.dropout_rate, rng)), protos),
                dim=1,
            )
            if distill:
                total = total - config.distill_weight * (t_llm[pick] * logp).sum(dim=1).mean()
            if fixmatch and step >= config.consistency_start * steps:
                with torch.no_grad():
                    q = torch.softmax(proto_logits(embed(chosen), protos), dim=1)
                    if t_llm is not None and config.llm_weight > 0:
                        q = q * t_llm[pick].clamp_min(1e-6) ** config.llm_weight
                        q = q / q.sum(dim=1, keepdim=True)
                    q = align_distribution(q, prior)
                    conf, target = q.max(dim=1)
                    mask = (conf >= config.threshold).float()
                    mask = mask * class_balanced_weights(target, mask, len(classes))
                record["mask_rate"] = float((mask > 0).float().mean())
                ce = nn.functional.nll_loss(logp, target, reduction="none")
                total = total + config.consistency_weight * (ce * mask).mean()
        if use_aug:
            pick = rng.choice(len(aug_texts), size=min(config.batch_size, len(aug_texts)),
                              replace=False)  # fmt: skip
            logp = torch.log_softmax(proto_logits(embed([aug_texts[i] for i in pick]), protos), 1)
            total = total - config.distill_weight * (t_aug[pick] * logp).sum(dim=1).mean()
        opt.zero_grad()
        total.backward()
        opt.step()
        sched.step()
        history.append(float(total.detach()))
        bar.update(1)
    bar.close()
    model.eval()
    model.max_seq_length = length
    record |= {"loss_first": history[0] if history else None,
               "loss_last": history[-1] if history else None}  # fmt: skip
    name = str(getattr(backbone, "name", "backbone"))
    return SentenceTransformerBackbone(model, f"{name}+finetuned", prompt=prompt), record


def _prototypes(e: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """``(k, dim)`` unit class means of the batch's labelled embeddings (gradient kept).

    A class absent from the batch gets a zero row (cosine 0 to everything).
    """
    e = nn.functional.normalize(e, dim=1)
    onehot = nn.functional.one_hot(y, k).float()
    sums = onehot.T @ e
    return nn.functional.normalize(sums, dim=1) * (onehot.sum(dim=0, keepdim=True).T > 0)
