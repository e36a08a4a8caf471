"""HyperMatch with the encoder fine-tuned inside (tiny in-memory BERT sentence-transformer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from textlab_fakes import FakeLLM

from byod.encoders.backbone import open_backbone
from byod.textlab.errors import TextlabError
from byod.textlab.finetune import FinetuneConfig, finetune_encoder, setfit_pairs
from byod.textlab.hypermatch import HyperMatchConfig, config_from_dict, fit_hypermatch

# Words of the tiny backbone's vocabulary (tests/conftest.py): two topics, one per class.
FRESH = ["action war crime", "war crime space", "action space war", "crime action horror",
         "horror war action", "space crime war", "action horror space", "war horror crime"]  # fmt: skip
ROTTEN = ["love comedy kids", "music love drama", "kids drama comedy", "comedy music love",
          "drama kids music", "love drama comedy", "music comedy kids", "kids love music"]  # fmt: skip
TEXTS, LABELS = FRESH + ROTTEN, ["fresh"] * 8 + ["rotten"] * 8
UNLABELLED = ["action crime", "love music", "war space", "comedy drama"]
FAST = FinetuneConfig(num_iterations=2, batch_size=8, lr=1e-3)


def _params(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _separation(backbone, texts: list[str], labels: list[str]) -> float:  # noqa: ANN001
    """Mean within-class cosine minus mean between-class cosine."""
    v = backbone.encode(texts)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    sim, y = v @ v.T, np.asarray(labels)
    same = (y[:, None] == y[None, :]) & ~np.eye(len(y), dtype=bool)
    return float(sim[same].mean() - sim[y[:, None] != y[None, :]].mean())


def test_setfit_pairs_one_positive_and_one_negative_per_text_and_iteration():
    pairs = setfit_pairs(LABELS, 3, np.random.default_rng(0))
    y = np.asarray(LABELS)
    assert pairs.shape == (2 * 3 * len(LABELS), 3)
    assert ((y[pairs[:, 0]] == y[pairs[:, 1]]) == pairs[:, 2].astype(bool)).all()
    assert (pairs[pairs[:, 2] == 1, 0] != pairs[pairs[:, 2] == 1, 1]).all()


def test_finetune_changes_a_copy_of_the_encoder_and_separates_the_classes(tiny_st_folder):
    bb = open_backbone(str(tiny_st_folder))
    before = _params(bb.model).clone()
    held_out = ["crime war", "space horror", "kids comedy", "drama love"]
    held_labels = ["fresh", "fresh", "rotten", "rotten"]
    tuned, record = finetune_encoder(
        bb, TEXTS, LABELS, classes=["fresh", "rotten"], seed=0,
        config=FinetuneConfig(num_iterations=10, batch_size=8, lr=1e-3),
    )  # fmt: skip
    assert torch.equal(_params(bb.model), before)  # the caller's encoder is untouched
    assert not torch.equal(_params(tuned.model), before)
    assert tuned.fingerprint != bb.fingerprint  # its vectors never share a cache entry
    assert record["terms"] == ["contrastive"] and record["steps"] == 40
    assert _separation(tuned, held_out, held_labels) > _separation(bb, held_out, held_labels)


def test_fit_hypermatch_finetune_without_llm_predicts_with_its_own_encoder(tiny_st_folder, rt_task):
    bb = open_backbone(str(tiny_st_folder))
    cfg = HyperMatchConfig(encoder="finetune", augment_ratio=0, finetune=FAST)
    res = fit_hypermatch(TEXTS, LABELS, UNLABELLED, task=rt_task, backbone=bb, config=cfg,
                         progress=False)  # fmt: skip
    assert res.backbone is not None and res.backbone.fingerprint != bb.fingerprint
    assert res.info["finetune"]["terms"] == ["contrastive"]  # FixMatch without an LLM is opt-in
    pred = res.predict(["action war", "love kids"])
    assert set(pred.tolist()) <= {"fresh", "rotten"} and len(pred) == 2
    frozen = fit_hypermatch(TEXTS, LABELS, UNLABELLED, task=rt_task, backbone=bb,
                            config=HyperMatchConfig(augment_ratio=0), progress=False)  # fmt: skip
    assert frozen.backbone is None and "finetune" not in frozen.info
    assert frozen.predict(["action war"], fallback=bb).shape == (1,)


def _uniform(context, continuations):  # noqa: ANN001, ANN202
    return np.full(len(continuations), np.log(1.0 / len(continuations)))


def _topical(context, continuations):  # noqa: ANN001, ANN202
    """Favours the first label word when the last line is about action / war / crime / space."""
    last = context.rsplit("\n", 1)[-1]
    first = any(w in last for w in ("action", "war", "crime", "space", "horror"))
    p = np.full(len(continuations), 0.1 / max(len(continuations) - 1, 1))
    p[0 if first else 1] = 0.9
    return np.log(p)


def test_rejected_teacher_falls_back_to_the_contrastive_fine_tune(tiny_st_folder, rt_task):
    bb = open_backbone(str(tiny_st_folder))
    llm = FakeLLM(lambda prompt, i: "", _uniform)  # no better than chance: rejected
    cfg = HyperMatchConfig(encoder="finetune", augment_ratio=0, finetune=FAST)
    res = fit_hypermatch(TEXTS, LABELS, UNLABELLED, task=rt_task, backbone=bb, llm=llm,
                         config=cfg, progress=False)  # fmt: skip
    assert res.info["teacher"]["used"] is False
    assert res.info["finetune"]["terms"] == ["contrastive"]
    assert res.predict(["action war"]).shape == (1,)


def test_trusted_llm_adds_distillation_and_fixmatch_to_the_loop(tiny_st_folder, rt_task):
    bb = open_backbone(str(tiny_st_folder))
    llm = FakeLLM(lambda prompt, i: "", _topical)
    cfg = HyperMatchConfig(encoder="finetune", augment_ratio=0, teacher_check=False,
                           finetune=FAST)  # fmt: skip
    res = fit_hypermatch(TEXTS, LABELS, UNLABELLED, task=rt_task, backbone=bb, llm=llm,
                         config=cfg, progress=False)  # fmt: skip
    assert res.info["finetune"]["terms"] == ["contrastive", "distill", "consistency"]
    assert np.isfinite(res.info["finetune"]["loss_last"])
    assert res.head.predict_proba(res.backbone.encode(["war"])).shape == (1, 2)


def test_config_from_dict_names_an_unknown_key():
    cfg = config_from_dict({"encoder": "finetune", "finetune": {"num_iterations": 5}})
    assert cfg.encoder == "finetune" and cfg.finetune.num_iterations == 5
    with pytest.raises(TextlabError, match="'encodr'"):
        config_from_dict({"encodr": "finetune"})
    with pytest.raises(TextlabError, match="finetune.'epoch'"):
        config_from_dict({"finetune": {"epoch": 2}})
    with pytest.raises(TextlabError, match="encoder 'thawed' is unknown"):
        HyperMatchConfig(encoder="thawed")
    with pytest.raises(TextlabError, match="loss"):
        FinetuneConfig(loss="triplet")


def test_finetune_needs_a_sentence_transformers_backbone():
    class Hashing:
        name, fingerprint, dim = "hash", "h", 4

        def encode(self, texts, **_):  # noqa: ANN001, ANN003, ANN202
            return np.ones((len(texts), 4), dtype=np.float32)

    with pytest.raises(TextlabError, match="sentence-transformers"):
        finetune_encoder(Hashing(), TEXTS, LABELS, classes=["fresh", "rotten"])


def test_frozen_token_embeddings_stay_put(tiny_st_folder):
    bb = open_backbone(str(tiny_st_folder))
    cfg = FinetuneConfig(num_iterations=2, batch_size=8, lr=1e-3, train_embeddings=False)
    tuned, _ = finetune_encoder(bb, TEXTS, LABELS, classes=["fresh", "rotten"], config=cfg)
    emb = lambda m: m[0].auto_model.get_input_embeddings().weight  # noqa: E731
    assert torch.equal(emb(tuned.model), emb(bb.model))
    assert not torch.equal(_params(tuned.model), _params(bb.model))
