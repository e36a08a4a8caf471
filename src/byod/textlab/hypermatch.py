"""HyperMatch: few labels + an LLM + unlabelled text → a text classifier.

The recipe, in order: encode the labelled texts with a frozen sentence encoder; let the LLM write
new examples from k-shot prompts of them (soft labels, validated, deduplicated against the real
ones); let it read soft labels for the unlabelled texts (zero-shot and calibrated by default, so
one pass serves every seed and every point of a data curve); make strong views of the unlabelled
texts (token dropout); train :class:`~byod.textlab.semisup.HyperMatchHead`. First, a teacher check:
the LLM labels the labelled texts it was not shown, and is used only when it beats chance, the
majority rate and the labels alone (cross-validated logistic regression on them) by a binomial
test, and stays informative after its temperature (:mod:`byod.textlab.teacher`). Without a
usable LLM the head trains on the labels alone, and is then the supervised baseline's logistic
regression (``ssl.labels_only``); FixMatch on the unlabelled texts alone is opt-in
(``consistency_without_llm``): on frozen features it lowered accuracy on every benchmark set.

``encoder="finetune"`` fine-tunes a copy of the encoder first (:mod:`byod.textlab.finetune`:
SetFit's contrastive pairs, the LLM's soft labels as distillation targets and FixMatch, in one
loop), then trains the same head on its vectors; the result's ``backbone`` is the encoder to
predict with. Without a usable LLM it reduces to SetFit: body training + logistic regression.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from byod.encoders.backbone import TextBackbone
from byod.encoders.cache import EmbeddingCache, encode_unique
from byod.progress import ProgressBackbone
from byod.textlab.augment import GenerationConfig, augment, paraphrase
from byod.textlab.calibrate import apply_temperature, fit_temperature
from byod.textlab.dedupe import dedupe
from byod.textlab.errors import TextlabError
from byod.textlab.finetune import FinetuneConfig, finetune_encoder
from byod.textlab.jsonl_cache import JsonlCache
from byod.textlab.llm.base import LLM
from byod.textlab.prompts import TaskSpec
from byod.textlab.pseudolabel import prob_columns, pseudolabel
from byod.textlab.semisup import HyperMatchHead, SSLConfig, token_dropout
from byod.textlab.teacher import judge_teacher

__all__ = [
    "ENCODER_MODES",
    "HyperMatchConfig",
    "config_from_dict",
    "HyperMatchResult",
    "fit_hypermatch",
    "encode_texts",
    "few_shot_examples",
]


ENCODER_MODES = ("frozen", "finetune")


@dataclasses.dataclass(frozen=True)
class HyperMatchConfig:
    """What HyperMatch uses.

    Attributes:
        augment_ratio: LLM-written examples per real one (GPT3Mix default 1; 0: none).
        augment_max: cap on LLM-written examples per fit (generation is the slow part on CPU).
        pseudolabel: read LLM soft labels for the unlabelled texts.
        pseudolabel_shots: real examples in the pseudo-label prompt (0: zero-shot, shared by
            every labelled subset, hence cached once per text).
        strong_views: token-dropout views per unlabelled text.
        paraphrase_view: add an LLM paraphrase of each unlabelled text as one more strong view
            (one generation per text: slow on CPU, off by default).
        dropout_rate: share of words a strong view drops.
        teacher_check: let the LLM label the labelled texts it was not shown; use it only when
            it beats chance and the labels alone (binomial test) and stays informative under the
            temperature fitted on them (a weak teacher flattened, a timid one sharpened).
        teacher_alpha: significance level of the teacher's binomial test (with 16 binary
            labelled texts, 0.05 asks for 12 correct, 0.2 for 11).
        teacher_max: check the LLM on at most this many labelled texts, the classes taking
            turns (``None``: all; a cap on LLM calls where scoring is slow, e.g. 7 Korean
            labels on CPU; fewer texts make the binomial test stricter).
        consistency_without_llm: FixMatch on unlabelled texts even with no (usable) LLM. Off:
            on frozen features it lowered accuracy on both benchmark sets.
        dedupe_threshold: cosine at which a generated text duplicates another.
        generation: sampling settings of the LLM.
        ssl: head training settings.
        encoder: ``frozen`` (the head on cached vectors: seconds) or ``finetune`` (fine-tune a
            copy of the encoder first: minutes on CPU).
        finetune: the fine-tune's settings (``encoder="finetune"``).
    """

    augment_ratio: float = 1.0
    augment_max: int | None = None
    pseudolabel: bool = True
    pseudolabel_shots: int = 0
    strong_views: int = 2
    paraphrase_view: bool = False
    dropout_rate: float = 0.2
    teacher_check: bool = True
    teacher_alpha: float = 0.05
    teacher_max: int | None = None
    consistency_without_llm: bool = False
    dedupe_threshold: float = 0.95
    generation: GenerationConfig = GenerationConfig()
    ssl: SSLConfig = SSLConfig()
    encoder: str = "frozen"
    finetune: FinetuneConfig = FinetuneConfig()

    def __post_init__(self) -> None:
        if self.encoder not in ENCODER_MODES:
            raise TextlabError(
                f"encoder {self.encoder!r} is unknown; choose one of {ENCODER_MODES}"
            )


def config_from_dict(values: dict[str, Any]) -> HyperMatchConfig:
    """A :class:`HyperMatchConfig` from a plain mapping (YAML / JSON).

    Nested ``generation``, ``ssl`` and ``finetune`` mappings are built too; an unknown key, at
    any level, is a :class:`TextlabError` (exit 2 in the CLI) naming it.
    """
    nested = {"generation": GenerationConfig, "ssl": SSLConfig, "finetune": FinetuneConfig}
    return _build(HyperMatchConfig, values, "", nested)


def _build(cls: type, values: Any, where: str, nested: dict[str, type] | None = None) -> Any:
    if not isinstance(values, dict):
        raise TextlabError(f"{where.rstrip('.') or 'config'} must be a mapping, got {values!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TextlabError(f"unknown config key {where}{unknown[0]!r}; known: {sorted(known)}")
    kwargs = {k: _build(nested[k], v, f"{where}{k}.") if nested and k in nested else v
              for k, v in values.items()}  # fmt: skip
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise TextlabError(f"config {where.rstrip('.') or cls.__name__}: {exc}") from None


@dataclasses.dataclass
class HyperMatchResult:
    """The trained head and what went into it (for the report and the closing numbers).

    ``backbone`` is the encoder whose vectors the head reads: the fine-tuned copy with
    ``encoder="finetune"``, else ``None`` (the backbone that was passed in).
    """

    head: HyperMatchHead
    info: dict[str, Any]
    backbone: TextBackbone | None = None

    def predict(self, texts: Sequence[str], fallback: TextBackbone | None = None) -> np.ndarray:
        """``(n,)`` labels of ``texts``, encoded by ``backbone`` (or ``fallback`` when frozen)."""
        return self.head.predict(self._encode(texts, fallback))

    def predict_proba(
        self, texts: Sequence[str], fallback: TextBackbone | None = None
    ) -> np.ndarray:
        """``(n, n_classes)`` probabilities of ``texts`` (columns in ``head.classes_`` order)."""
        return self.head.predict_proba(self._encode(texts, fallback))

    def _encode(self, texts: Sequence[str], fallback: TextBackbone | None) -> np.ndarray:
        bb = self.backbone or fallback
        if bb is None:
            raise TextlabError("a frozen-encoder result needs the backbone it was trained on")
        return encode_texts(texts, bb)


def encode_texts(
    texts: Sequence[str], backbone: TextBackbone, cache: EmbeddingCache | None = None
) -> np.ndarray:
    """``(n, dim)`` float32 vectors for ``texts`` (duplicates encoded once, cached when given)."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, backbone.dim), dtype=np.float32)
    unique = list(dict.fromkeys(texts))
    vectors = encode_unique(unique, backbone, cache)
    where = {t: i for i, t in enumerate(unique)}
    return vectors[[where[t] for t in texts]]


def fit_hypermatch(
    texts: Sequence[str],
    labels: Sequence[str],
    unlabelled: Sequence[str],
    *,
    task: TaskSpec,
    backbone: TextBackbone,
    llm: LLM | None = None,
    config: HyperMatchConfig = HyperMatchConfig(),
    seed: int = 0,
    llm_cache: JsonlCache | None = None,
    vector_cache: EmbeddingCache | None = None,
    progress: bool = True,
) -> HyperMatchResult:
    """Train a HyperMatch classifier.

    Args:
        texts: the labelled texts.
        labels: their labels (each in ``task.labels``).
        unlabelled: in-domain texts without labels (select out-of-domain ones first with
            :mod:`byod.textlab.select`).
        task: label set, label words and prompt format.
        backbone: the frozen sentence encoder.
        llm: the LLM for augmentation and pseudo-labels; ``None``: SSL only.
        config: see :class:`HyperMatchConfig`.
        seed: drives example sampling, LLM sampling, views and head initialisation.
        llm_cache: JSONL cache of LLM outputs (resumable).
        vector_cache: cache of text vectors.
        progress: show progress bars.
    """
    info: dict[str, Any] = {"n_labelled": len(texts), "n_unlabelled": len(unlabelled)}
    backbone = ProgressBackbone(backbone, f"embedding ({backbone.name})", enabled=progress)
    x = encode_texts(texts, backbone, vector_cache)
    rng = np.random.default_rng(seed)
    shown = few_shot_examples(texts, labels, config.pseudolabel_shots, rng)
    temperature = 1.0
    if llm is not None and config.teacher_check:
        teacher = _check_teacher(x, texts, labels, shown, task, llm, llm_cache, progress,
                                 alpha=config.teacher_alpha, limit=config.teacher_max)  # fmt: skip
        info["teacher"] = teacher
        temperature = teacher["temperature"]
        if not teacher["used"]:
            llm = None  # no better than the labels alone: it would only add noise
    fit_args: dict[str, Any] = {"classes": np.asarray(task.labels)}
    if llm is not None and config.augment_ratio > 0:
        fit_args |= _augmented(texts, labels, x, task, backbone, llm, config, seed, llm_cache,
                               vector_cache, progress, info)  # fmt: skip
    if len(unlabelled) and (llm is not None or config.consistency_without_llm):
        fit_args |= _unlabelled_views(unlabelled, task, backbone, llm, config, seed, rng,
                                      llm_cache, vector_cache, progress, info)  # fmt: skip
        if llm is not None and config.pseudolabel:
            frame = pseudolabel(llm, task, list(unlabelled), examples=shown, cache=llm_cache,
                                progress=progress)  # fmt: skip
            p_llm = apply_temperature(frame.select(prob_columns(task)).to_numpy(), temperature)
            fit_args["p_llm"] = p_llm
            info["pseudolabel_confident_share"] = float((p_llm.max(axis=1) >= 0.9).mean())
    tuned = None
    if config.encoder == "finetune":
        tuned, fit_args = _finetuned(texts, labels, unlabelled, backbone, llm, config, seed,
                                     progress, info, fit_args)  # fmt: skip
        x = encode_texts(texts, tuned)
    head = HyperMatchHead(config.ssl, seed=seed, progress=progress).fit(
        x, np.asarray(labels), **{k: v for k, v in fit_args.items() if not k.startswith("_")}
    )
    info["head_trained_by"] = head.trained_by_  # "logistic": the labels were its only signal
    info["consistency_mask_rate"] = getattr(head, "mask_rate_", None)
    counts = getattr(head, "pseudo_label_counts_", None)
    if counts is not None:  # confident FixMatch targets per class at the last step
        info["pseudo_label_counts"] = dict(zip(task.labels, counts.tolist(), strict=True))
    return HyperMatchResult(head, info, tuned)


def _finetuned(
    texts: Sequence[str],
    labels: Sequence[str],
    unlabelled: Sequence[str],
    backbone: TextBackbone,
    llm: LLM | None,
    config: HyperMatchConfig,
    seed: int,
    progress: bool,
    info: dict[str, Any],
    fit_args: dict[str, Any],
) -> tuple[TextBackbone, dict[str, Any]]:
    """Fine-tune the encoder on what the head would see; re-encode the head's inputs with it.

    The texts behind ``fit_args`` (``_texts`` keys, kept by :func:`_augmented` and
    :func:`_unlabelled_views`) are encoded again with the fine-tuned copy, uncached: its
    weights exist only in this fit.
    """
    use_unl = len(unlabelled) > 0 and (llm is not None or config.consistency_without_llm)
    tuned, record = finetune_encoder(
        backbone, texts, labels, classes=fit_args["classes"].tolist(), config=config.finetune,
        unlabelled=list(unlabelled) if use_unl else [], p_llm=fit_args.get("p_llm"),
        consistency=use_unl, aug_texts=fit_args.get("_aug_texts", []),
        p_aug=fit_args.get("p_aug"), seed=seed, progress=progress,
    )  # fmt: skip
    info["finetune"] = record
    out = {k: v for k, v in fit_args.items() if not k.startswith("_")}
    if "_aug_texts" in fit_args:
        out["x_aug"] = encode_texts(fit_args["_aug_texts"], tuned)
    if "_weak_texts" in fit_args:
        out["x_weak"] = encode_texts(fit_args["_weak_texts"], tuned)
        out["x_strong"] = np.stack([encode_texts(v, tuned) for v in fit_args["_strong_texts"]])
    return tuned, out


def _unlabelled_views(
    unlabelled: Sequence[str],
    task: TaskSpec,
    backbone: TextBackbone,
    llm: LLM | None,
    config: HyperMatchConfig,
    seed: int,
    rng: np.random.Generator,
    llm_cache: JsonlCache | None,
    vector_cache: EmbeddingCache | None,
    progress: bool,
    info: dict[str, Any],
) -> dict[str, Any]:
    """``x_weak`` (the texts) and ``x_strong`` (token-dropout views, + LLM paraphrases)."""
    views = [token_dropout(list(unlabelled), config.dropout_rate, rng)
             for _ in range(max(config.strong_views, 1))]  # fmt: skip
    if llm is not None and config.paraphrase_view:
        para, info["paraphrase_fallbacks"] = paraphrase(
            llm, task, list(unlabelled), config=config.generation, seed=seed, cache=llm_cache,
            progress=progress,
        )  # fmt: skip
        views.append(para)
    out: dict[str, Any] = {"_weak_texts": list(unlabelled), "_strong_texts": views}
    if config.encoder == "frozen":  # a fine-tune encodes them with its own weights instead
        out["x_weak"] = encode_texts(unlabelled, backbone, vector_cache)
        out["x_strong"] = np.stack([encode_texts(v, backbone, vector_cache) for v in views])
    return out


def _check_teacher(
    x: np.ndarray,
    texts: Sequence[str],
    labels: Sequence[str],
    shown: list[tuple[str, str]],
    task: TaskSpec,
    llm: LLM,
    llm_cache: JsonlCache | None,
    progress: bool = False,
    *,
    alpha: float = 0.05,
    limit: int | None = None,
) -> dict[str, Any]:
    """Is the LLM a better labeller than chance and the few labels themselves?

    The LLM labels the labelled texts it was not shown; a temperature for its soft labels is
    fitted on them (a weak teacher is flattened, a timid one sharpened), and
    :func:`~byod.textlab.teacher.judge_teacher` decides: it must beat chance, the majority rate
    and cross-validated logistic regression on the labelled vectors by a binomial test, and stay
    informative after the temperature.
    """
    seen = {t for t, _ in shown}
    held = _classes_in_turn([i for i, t in enumerate(texts) if t not in seen], labels, limit)
    frame = pseudolabel(llm, task, [texts[i] for i in held], examples=shown, cache=llm_cache,
                        progress=progress)  # fmt: skip
    probs = frame.select(prob_columns(task)).to_numpy().reshape(len(held), len(task.labels))
    truth = np.asarray([task.labels.index(labels[i]) for i in held], dtype=int)
    temperature = fit_temperature(probs, truth) if len(held) >= 2 else 1.0
    baseline = _cv_accuracy(x, np.asarray(labels))
    return judge_teacher(probs, truth, baseline_accuracy=baseline, temperature=temperature,
                         alpha=alpha)  # fmt: skip


def _classes_in_turn(idx: list[int], labels: Sequence[str], limit: int | None) -> list[int]:
    """At most ``limit`` of ``idx``, one class after another (all of them when ``None``)."""
    if limit is None or len(idx) <= limit:
        return idx
    by_class: dict[str, list[int]] = {}
    for i in idx:
        by_class.setdefault(labels[i], []).append(i)
    picked: list[int] = []
    while len(picked) < limit:
        for queue in by_class.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return sorted(picked)


def _cv_accuracy(x: np.ndarray, y: np.ndarray) -> float | None:
    """Stratified k-fold accuracy of logistic regression (``None``: a class has one example)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    smallest = int(np.unique(y, return_counts=True)[1].min())
    if smallest < 2:
        return None
    folds = StratifiedKFold(n_splits=min(5, smallest), shuffle=True, random_state=0)
    with threadpool_limits(1):
        scores = cross_val_score(LogisticRegression(max_iter=1000), x, y, cv=folds)
    return float(scores.mean())


def _augmented(
    texts: Sequence[str],
    labels: Sequence[str],
    x: np.ndarray,
    task: TaskSpec,
    backbone: TextBackbone,
    llm: LLM,
    config: HyperMatchConfig,
    seed: int,
    llm_cache: JsonlCache | None,
    vector_cache: EmbeddingCache | None,
    progress: bool,
    info: dict[str, Any],
) -> dict[str, Any]:
    """LLM-written examples, deduplicated, as ``x_aug`` / ``p_aug``."""
    n = round(config.augment_ratio * len(texts))
    n = n if config.augment_max is None else min(n, config.augment_max)
    frame, stats = augment(
        llm,
        task,
        list(texts),
        list(labels),
        n=n,
        config=config.generation,
        seed=seed,
        cache=llm_cache,
        progress=progress,
    )
    x_new = encode_texts(frame["text"].to_list(), backbone, vector_cache)
    keep, dup = dedupe(
        frame["text"].to_list(),
        x_new,
        reference=list(texts),
        reference_vectors=x,
        threshold=config.dedupe_threshold,
    )
    info["augment"] = stats.as_dict() | {"duplicates": dup, "used": int(keep.sum())}
    kept = [t for t, k in zip(frame["text"].to_list(), keep, strict=True) if k]
    return {"x_aug": x_new[keep], "p_aug": frame.select(prob_columns(task)).to_numpy()[keep],
            "_aug_texts": kept}  # fmt: skip


def few_shot_examples(
    texts: Sequence[str], labels: Sequence[str], shots: int, rng: np.random.Generator
) -> list[tuple[str, str]]:
    """``shots`` labelled examples for the pseudo-label prompt, one class after another."""
    if shots <= 0:
        return []
    order = rng.permutation(len(texts))
    by_class: dict[str, list[int]] = {}
    for i in order:
        by_class.setdefault(labels[i], []).append(int(i))
    picked: list[int] = []
    while len(picked) < min(shots, len(texts)):
        for idx in by_class.values():
            if idx and len(picked) < shots:
                picked.append(idx.pop())
    return [(texts[i], labels[i]) for i in picked]
