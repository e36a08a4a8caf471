"""The text page's jobs beside training: zero-data generation, pseudo-labels, the label audit.

Each runs the library call behind its CLI command, so the page and the terminal agree:
``generate`` is ``byod text generate`` (:func:`byod.textlab.augment.generate`, then
:func:`~byod.textlab.dedupe.dedupe_frame`), ``pseudolabel`` is ``byod text pseudolabel
--examples`` (:func:`byod.textlab.pseudolabel.pseudolabel`) and ``audit`` is ``byod labels
audit`` (:func:`byod.labels.audit.audit` over the encoder's sentence vectors, the same
``suspects.csv``, ``scores.csv`` and ``summary.html``). Run by :mod:`byod.studio.worker`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from byod.atomic import write_csv, write_json, write_text
from byod.errors import ByodError

__all__ = ["run_generate", "run_pseudolabel", "run_audit", "audit_folds", "PSEUDO_CHUNKS"]

PSEUDO_CHUNKS = 20  # progress steps of a pseudo-label job (the cache makes a chunk resumable)


def _llm(spec: dict[str, Any]) -> Any:
    from byod.textlab.llm.options import LLMOptions

    return LLMOptions(spec["llm"]).open(Path(spec["llm_dir"]), required=True)


def _encoder(spec: dict[str, Any], key: str = "backbone") -> Callable[[list[str]], np.ndarray]:
    """``texts -> vectors`` with the spec's sentence encoder and the studio's vector cache."""
    from byod.encoders.backbone import open_backbone
    from byod.encoders.cache import EmbeddingCache
    from byod.textlab.hypermatch import encode_texts

    bb = open_backbone(spec[key], models_dir=spec.get("models_dir"))
    vdir = spec.get("vector_cache_dir")
    vcache = EmbeddingCache(Path(vdir), bb.fingerprint, bb.dim) if vdir else None
    return lambda texts: encode_texts(texts, bb, vcache)


def run_generate(spec: dict[str, Any], rep: Any) -> None:
    """Examples written from the label names alone, as ``byod text generate`` writes them.

    ``generated.json`` has the same shape as an ``augment`` job's (the counts requested / kept /
    dropped by reason / duplicates removed, and the rows), so the page accepts them the same way.
    """
    from byod.studio.textflow import TextDraft, task_of
    from byod.textlab.augment import generate
    from byod.textlab.dedupe import dedupe_frame
    from byod.textlab.jsonl_cache import JsonlCache

    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    draft = TextDraft(**spec["draft"])
    task = task_of(draft)
    n = int(spec["n_per_label"])
    rep.update(stage="LLM", fraction=0.05, detail=f"opening {spec['llm']}")
    llm = _llm(spec)
    rep.update(stage="generate", fraction=0.2, detail=f"{n} per label x {len(task.labels)}")
    frame, stats = generate(llm, task, n_per_label=n, seed=int(spec.get("seed", 0)),
                            cache=JsonlCache(out / "llm.jsonl"), progress=False)  # fmt: skip
    encode = _encoder(spec) if spec.get("backbone", "none") != "none" else None
    rep.update(stage="dedupe", fraction=0.9)
    real, _ = draft.pairs()  # examples already typed are not written again
    frame, dup = dedupe_frame(frame, real, encode)
    rows = frame.select("text", "label", "confidence").to_dicts()
    summary = stats.as_dict() | {"duplicates_removed": dup, "written": frame.height}
    write_json({"summary": summary, "rows": rows}, out / "generated.json")
    rep.output("generated", out / "generated.json")
    rep.update(detail=f"{frame.height} of {summary['requested']} kept")


def run_pseudolabel(spec: dict[str, Any], rep: Any) -> None:
    """Soft labels for every text of ``texts_file`` (``byod text pseudolabel --examples``).

    The examples of the page go into the prompt (up to 8, picked as the CLI picks them; none:
    zero-shot). The texts are scored in chunks so the card shows progress and a rate; the LLM
    cache makes a rerun skip what was scored. Every row goes to ``soft-labels.csv``; the page
    applies the confidence threshold (kept / dropped) and serves the kept rows.
    """
    import polars as pl

    from byod.studio.textflow import TextDraft, shown_examples, task_of
    from byod.tabular import read_table
    from byod.textlab.jsonl_cache import JsonlCache
    from byod.textlab.pseudolabel import pseudolabel

    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    draft = TextDraft(**spec["draft"])
    task = task_of(draft)
    texts = read_table(spec["texts_file"], text_columns=("text",))["text"].to_list()
    shown = shown_examples(draft) if any(draft.examples.values()) else []
    rep.update(stage="LLM", fraction=0.05, detail=f"opening {spec['llm']}")
    llm = _llm(spec)
    cache = JsonlCache(out / "llm.jsonl")
    step = max(1, -(-len(texts) // PSEUDO_CHUNKS))
    frames, t0 = [], time.time()
    for start in range(0, len(texts), step):
        frames.append(pseudolabel(llm, task, texts[start : start + step], examples=shown,
                                  calibrated=bool(spec.get("calibrated", True)), cache=cache,
                                  progress=False))  # fmt: skip
        done = min(start + step, len(texts))
        rate = done / max(time.time() - t0, 1e-9)
        rep.update(stage="pseudo-label", fraction=0.1 + 0.85 * done / len(texts),
                   detail=f"{done}/{len(texts)} texts", rate=f"{rate:.1f} texts/s")  # fmt: skip
    frame = pl.concat(frames)
    write_csv(frame, out / "soft-labels.csv")
    rep.output("soft_labels", out / "soft-labels.csv")
    detail = f"{frame.height} texts labelled, {len(shown)} examples in the prompt"
    rep.update(texts=frame.height, shots=len(shown), rate=None, detail=detail)


def audit_folds(labels: list[str], most: int = 5) -> int:
    """Folds per split: the CLI's 5, fewer when a label has fewer examples (at least 2).

    Raises:
        ByodError: a label has a single example (no checker could be trained without it).
    """
    counts = Counter(labels)
    if len(counts) < 2:
        raise ByodError("the audit needs examples of at least two labels")
    label, fewest = min(counts.items(), key=lambda kv: kv[1])
    if fewest < 2:
        raise ByodError(
            f"label {label!r} has 1 example; the audit needs at least 2 per label "
            "(each is checked by models trained on the others)"
        )
    return min(most, fewest)


def run_audit(spec: dict[str, Any], rep: Any) -> None:
    """``byod labels audit`` over the page's labels file; the suggestions the page decides on.

    ``audit.json`` lists the flagged examples, most suspect first: the row of the labels file,
    the text, the given label, the suggested one and its posterior (the confidence).
    """
    import polars as pl

    from byod.labels.audit import audit
    from byod.labels.report import audit_html
    from byod.tabular import read_table

    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    df = read_table(spec["labels_file"], text_columns=("text", "label"))
    texts, labels = df["text"].to_list(), df["label"].cast(pl.String).to_list()
    n_folds = audit_folds(labels)
    rep.update(
        stage="embedding", fraction=0.05, detail=f"{len(texts)} examples ({spec['backbone']})"
    )
    x = _encoder(spec)(texts)
    rep.update(stage="audit", fraction=0.4,
               detail=f"{spec.get('n_rounds', 3)} rounds x {spec.get('n_splits', 3)} splits "
               f"of {n_folds} folds")  # fmt: skip
    result = audit(x, np.asarray(labels, dtype=object), n_splits=int(spec.get("n_splits", 3)),
                   n_folds=n_folds, n_rounds=int(spec.get("n_rounds", 3)),
                   seed=int(spec.get("seed", 0)))  # fmt: skip
    confidence = result.posterior.max(axis=1)
    suspects = pl.DataFrame(
        {
            "row": np.arange(1, df.height + 1),
            "text": texts,
            "given": result.given.astype(str),
            "suggested": result.suggested.astype(str),
            "score": result.score,
            "flagged": result.flagged,
        }
    ).sort("score")  # fmt: skip  (the CLI's columns: `byod labels audit` reads the same)
    write_csv(suspects.filter(pl.col("flagged")), out / "suspects.csv")
    write_csv(suspects, out / "scores.csv")
    name = Path(spec["labels_file"]).name
    write_text(audit_html(result, suspects, title=f"Label audit of {name}"), out / "summary.html")
    rep.output("report", out / "summary.html")
    order = np.argsort(result.score, kind="stable")
    suggestions = [
        {"row": int(i), "text": texts[i], "given": labels[i],
         "suggested": str(result.suggested[i]), "confidence": float(confidence[i]),
         "score": float(result.score[i])}
        for i in order if result.flagged[i]
    ]  # fmt: skip
    summary = {"n": df.height, "n_folds": n_folds, "history": result.history,
               "labels_file": spec["labels_file"], "suggestions": suggestions}  # fmt: skip
    write_json(summary, out / "audit.json")
    rep.output("audit", out / "audit.json")
    rep.update(flagged=len(suggestions), n=df.height,
               detail=f"{len(suggestions)} of {df.height} labels flagged")  # fmt: skip
