"""The job worker: ``python -m byod.studio.worker JOB_DIR`` runs one job and reports as it goes.

It reads ``spec.json`` and keeps ``state.json`` up to date (stage, fraction, rate, ETA, the loss
curve, the files written so far). SIGTERM (the page's cancel) stops it between two steps and
records ``cancelled``; an error records its one line and keeps every file already written.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from byod.atomic import write_json
from byod.errors import ByodError

__all__ = ["Reporter", "run_job", "KINDS"]


class Cancelled(Exception):
    """The job was cancelled from the page."""


class Reporter:
    """Writes ``state.json``: status, the stage, the overall fraction, rate and ETA."""

    def __init__(self, folder: Path, job_id: str, kind: str) -> None:
        self.path = folder / "state.json"
        self._lock = threading.Lock()
        self.state: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        self.state.update(id=job_id, kind=kind, status="running", started_at=time.time())
        self.state.setdefault("outputs", {})
        self._write()

    def _write(self) -> None:
        self.state["updated_at"] = time.time()
        write_json(self.state, self.path)

    def update(self, **fields: Any) -> None:
        """Set fields; with ``fraction``, the ETA from the elapsed time."""
        with self._lock:
            self.state.update(fields)
            frac = float(self.state.get("fraction") or 0.0)
            elapsed = time.time() - self.state["started_at"]
            self.state["elapsed_s"] = elapsed
            running = self.state.get("status") == "running"
            self.state["eta_s"] = elapsed * (1 - frac) / frac if running and 0 < frac < 1 else None
            self._write()

    def output(self, name: str, path: Path) -> None:
        """Record a file or folder the job has written (kept even if a later step fails)."""
        with self._lock:
            self.state["outputs"][name] = str(path)
        self.update()

    def finish(self, status: str, error: str | None = None) -> None:
        """The final word: done, failed (with the error line) or cancelled."""
        fraction = 1.0 if status == "done" else self.state.get("fraction", 0.0)
        self.update(status=status, error=error, fraction=fraction, eta_s=None)


def _watch_curve(model_dir: Path, epochs: int, lo: float, hi: float, rep: Reporter) -> Callable:
    """Poll the trainer's ``metrics.jsonl`` into the state: the curve, epochs done, the rate."""
    stop = threading.Event()
    t0 = time.time()

    def poll() -> None:
        try:
            lines = (model_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        curve = [json.loads(ln) for ln in lines if ln.strip()]
        done = len(curve)
        rate = done / max(time.time() - t0, 1e-9) * 60
        rep.update(
            curve=[{k: h.get(k) for k in ("epoch", "train_loss", "val_loss")} for h in curve],
            fraction=lo + (hi - lo) * min(done / max(epochs, 1), 1.0),
            rate=f"{rate:.1f} epochs/min",
            detail=f"epoch {done}/{epochs}",
        )

    def loop() -> None:
        while not stop.wait(0.5):
            poll()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def finish() -> None:
        stop.set()
        thread.join(timeout=2)
        poll()  # the last epochs, however fast they were

    return finish


def _backbone(spec: dict[str, Any]):  # noqa: ANN202
    from byod.encoders.backbone import open_backbone

    return open_backbone(spec["backbone"], models_dir=spec.get("models_dir"))


def run_build(spec: dict[str, Any], rep: Reporter) -> None:
    """Serialize → pretrain → embed, each step's output recorded as soon as it exists."""
    import polars as pl

    from byod.data.serialize import SerializeConfig, serialize, write_histories
    from byod.encoders.user import model_hash
    from byod.features.table import frame_hash, write_feature_table
    from byod.pretrain.run import PretrainConfig, pretrain

    out = Path(spec["out"])
    rep.update(stage="serialize", fraction=0.01, detail="reading events")
    events = pl.read_parquet(spec["events"])
    scfg = SerializeConfig(max_events=int(spec.get("max_events", 64)))
    histories = serialize(events, scfg)
    write_histories(histories, out / "histories.parquet", scfg)
    rep.output("histories", out / "histories.parquet")
    rep.update(stage="pretrain", fraction=0.05, detail=f"{histories.height:,} histories")
    train = {
        "epochs": int(spec.get("epochs", 3)),
        "batch_size": int(spec.get("batch_size", 64)),
        "device": "cpu",
        "max_steps": spec.get("max_steps"),
    }
    cfg = PretrainConfig.from_dict(
        {
            "objective": spec.get("objective", "clue"),
            "backbone": spec["backbone"],
            "max_events": int(spec.get("max_events", 64)),
            "patience": int(spec.get("patience", 3)),
            "encoder": spec.get("encoder", {}),
            "train": train,
        },
        where="build settings",
    )
    backbone = _backbone(spec)
    model_dir = out / "model"
    stop_watch = _watch_curve(model_dir, cfg.train.epochs, 0.05, 0.9, rep)
    try:
        encoder, _state = pretrain(
            histories,
            model_dir,
            cfg,
            backbone=backbone,
            progress=False,
            vector_cache_dir=spec.get("vector_cache_dir"),
            rendering=scfg.rendering(),
        )
    finally:
        stop_watch()
    rep.output("model", model_dir)
    rep.update(stage="embed", fraction=0.9, detail="embedding every user", rate=None)
    features = encoder.encode(histories)
    c = encoder.config
    table = write_feature_table(
        features,
        out / "features",
        {
            "model": str(model_dir.resolve()),
            "model_hash": model_hash(model_dir),
            "backbone": c.backbone,
            "backbone_fingerprint": c.backbone_fingerprint,
            "objective": c.objective,
            "mode": c.mode,
            "source": str(out / "histories.parquet"),
            "source_kind": "histories",
            "source_hash": frame_hash(histories),
        },
    )
    rep.output("features", out / "features")
    rep.update(version=table.metadata["version"], users=features.height, detail="done")


def run_classify(spec: dict[str, Any], rep: Reporter) -> None:
    """A logistic head on the user vectors vs the majority class and TF-IDF bag of items."""
    import polars as pl

    from byod.atomic import write_parquet
    from byod.features.table import read_feature_table
    from byod.tabular import read_table
    from byod.transfer.baselines import bag_of_items
    from byod.transfer.classify import task_labels
    from byod.transfer.run import classify_source

    out, task = Path(spec["out"]), spec["task"]
    raw = read_table(spec["labels"], text_columns=(spec["user_column"], spec["label_column"]))
    labels = raw.select(
        pl.col(spec["user_column"]).cast(pl.String).alias("user_id"),
        pl.lit(task).alias("task"),
        pl.col(spec["label_column"]).cast(pl.String).alias("label"),
    ).drop_nulls()
    write_parquet(labels, out / "labels.parquet")
    rep.output("labels", out / "labels.parquet")
    table = read_feature_table(spec["features"])
    ids, seeds = table.user_ids, int(spec.get("n_seeds", 3))
    task_labels(labels, task, ids)  # a clear error before any fitting
    rep.update(stage="embedding head", fraction=0.1)
    frames = [
        classify_source(
            "byod vectors", ids, table.vectors, labels, [task], ["logistic"], n_seeds=seeds
        )
    ]
    rep.update(stage="baselines", fraction=0.6)
    frames.append(
        classify_source(
            "majority class", ids, table.vectors, labels, [task], ["majority"], n_seeds=seeds
        )
    )
    events = pl.read_parquet(spec["events"]) if spec.get("events") else None
    if events is not None and events["item_id"].drop_nulls().len() > 0:
        bag = bag_of_items(events, ids)
        frames.append(
            classify_source(
                "TF-IDF bag of items", ids, bag, labels, [task], ["logistic"], n_seeds=seeds
            )
        )
    metrics = pl.concat(frames)
    write_json(metrics.to_dicts(), out / "metrics.json")
    rep.output("metrics", out / "metrics.json")


def run_recommend(spec: dict[str, Any], rep: Reporter) -> None:
    """Next-item recommendation on the build's users vs popularity / item-kNN / co-occurrence."""
    import polars as pl

    from byod.encoders.user import UserEncoder
    from byod.features.table import read_feature_table
    from byod.pipeline.tables import interactions_from_events
    from byod.transfer.nextitem import next_item_task
    from byod.transfer.recommend import RecommendConfig
    from byod.transfer.run import item_vectors, recommend_baselines, recommend_source, table_source

    out = Path(spec["out"])
    rep.update(stage="items", fraction=0.05, detail="the events that name an item")
    task = next_item_task(interactions_from_events(pl.read_parquet(spec["events"]), None))
    encoder = UserEncoder.load(
        spec["model"],
        vector_cache_dir=spec.get("vector_cache_dir"),
        models_dir=spec.get("models_dir"),
    )
    rep.update(stage="item vectors", fraction=0.15, detail=f"{task.items.height} items")
    vectors = item_vectors(task, encoder.backbone, encoder.cache)
    table = read_feature_table(spec["features"])
    rep.update(stage="recommendation head", fraction=0.3, detail="mlp on the user vectors")
    cfg = RecommendConfig(kind="mlp", epochs=int(spec.get("epochs", 15)), last_item=True)
    # a static table saw every event: train on the validation targets only (as byod deploy)
    ours, _head = recommend_source(
        task, "byod vectors", table_source(table.features), vectors, cfg, static=True
    )
    rep.update(stage="baselines", fraction=0.8)
    rows = pl.concat([ours, recommend_baselines(task)]).filter(pl.col("segment") == "all")
    out.mkdir(parents=True, exist_ok=True)
    write_json(rows.to_dicts(), out / "ranking.json")
    rep.output("ranking", out / "ranking.json")
    rep.update(detail=f"{len(task.test_users)} test users, {task.items.height} items")


def run_deploy(spec: dict[str, Any], rep: Reporter) -> None:
    """Assemble a deployment folder (``byod deploy``) from a built model, table and labels."""
    import polars as pl

    from byod.encoders.user import UserEncoder
    from byod.features.table import read_feature_table
    from byod.serve.build import DeploySpec, build_deployment

    rep.update(stage="deploy", fraction=0.1, detail="loading the model")
    encoder, table = None, None  # no build: a text-only deployment (text classifiers alone)
    if spec.get("model"):
        encoder = UserEncoder.load(
            spec["model"],
            vector_cache_dir=spec.get("vector_cache_dir"),
            models_dir=spec.get("models_dir"),
        )
        table = read_feature_table(spec["features"])
    labels = pl.read_parquet(spec["labels"]) if spec.get("labels") else None
    tasks = tuple(spec.get("tasks", ()))
    text_dirs = {name: Path(folder) for name, folder in (spec.get("text") or {}).items()}
    text_backbones = {}
    for name, folder in text_dirs.items():  # as `byod deploy --text` opens them
        card = json.loads((folder / "classifier.json").read_text(encoding="utf-8"))
        same = encoder is not None and card["backbone"] == encoder.config.backbone
        text_backbones[name] = (
            encoder.backbone
            if same
            else _backbone({"backbone": card["backbone"], "models_dir": spec.get("models_dir")})
        )
    interactions = None
    if spec.get("next_item") and spec.get("events"):
        from byod.pipeline.tables import interactions_from_events

        interactions = interactions_from_events(pl.read_parquet(spec["events"]), None)
    rep.update(fraction=0.3, detail=f"fitting heads {list(tasks)}, text {list(text_dirs)}")
    build_deployment(
        DeploySpec(
            encoder=encoder,
            encoder_dir=Path(spec["model"]) if spec.get("model") else None,
            table=table,
            labels=labels,
            tasks=tasks,
            text_classifiers=text_dirs,
            text_backbones=text_backbones,
            interactions=interactions,
            cache=encoder.cache if encoder is not None else None,
        ),
        spec["out"],
    )
    rep.output("deployment", Path(spec["out"]))


def run_text(spec: dict[str, Any], rep: Reporter) -> None:
    """HyperMatch on the examples (``byod text train``'s calls), scored on the held-out ones.

    Saved with ``byod.textlab.model.save_classifier``, so ``byod deploy --text`` reads it too.
    """
    import numpy as np
    import polars as pl

    from byod.encoders.cache import EmbeddingCache
    from byod.studio.textflow import TextDraft, held_out_split, task_of
    from byod.textlab.hypermatch import HyperMatchConfig, encode_texts, fit_hypermatch
    from byod.textlab.jsonl_cache import JsonlCache
    from byod.textlab.llm.options import LLMOptions
    from byod.textlab.metrics import classification_scores
    from byod.textlab.model import save_classifier

    out = Path(spec["out"])
    draft = TextDraft(**spec["draft"])
    task = task_of(draft)
    texts, labels = draft.pairs()
    train, test = held_out_split(labels, float(spec.get("held_out", 0.25)))
    examples = pl.DataFrame({"text": texts, "label": labels})
    out.mkdir(parents=True, exist_ok=True)
    examples.write_csv(out / "examples.csv")
    rep.output("examples", out / "examples.csv")
    rep.update(stage="embedding", fraction=0.05, detail=f"{len(train)} train, {len(test)} held out")
    bb = _backbone(spec)
    vcache = None
    if spec.get("vector_cache_dir"):
        vcache = EmbeddingCache(Path(spec["vector_cache_dir"]), bb.fingerprint, bb.dim)
    llm = None
    if spec.get("llm", "none") != "none":
        rep.update(stage="LLM", fraction=0.1, detail=f"opening {spec['llm']}")
        llm = LLMOptions(spec["llm"]).open(Path(spec["llm_dir"]), required=True)
    rep.update(stage="training", fraction=0.2, detail="HyperMatch")
    cfg = HyperMatchConfig(augment_max=int(spec.get("augment_max", 8)))
    res = fit_hypermatch(
        [texts[i] for i in train],
        [labels[i] for i in train],
        [],
        task=task,
        backbone=bb,
        llm=llm,
        config=cfg,
        seed=int(spec.get("seed", 0)),
        llm_cache=JsonlCache(out / "llm.jsonl") if llm is not None else None,
        vector_cache=vcache,
        progress=False,
    )
    model = out / "classifier"
    save_classifier(res.head, model, backbone=spec["backbone"], task=task)
    rep.output("classifier", model)
    rep.update(stage="held-out", fraction=0.9, detail="scoring the held-out examples")
    held = [texts[i] for i in test]
    truth = np.asarray([labels[i] for i in test])
    probs = res.head.predict_proba(encode_texts(held, bb, vcache))
    pred = np.asarray(res.head.classes_)[probs.argmax(axis=1)].astype(str)
    scores = classification_scores(truth, pred)
    rows = [
        {"text": t, "label": str(y), "prediction": str(p), "confidence": float(c)}
        for t, y, p, c in zip(held, truth, pred, probs.max(axis=1), strict=True)
    ]
    info = {k: v for k, v in res.info.items() if k in ("teacher", "augment")}
    write_json({"scores": scores, "held_out": rows, **info}, out / "heldout.json")
    rep.output("held_out", out / "heldout.json")
    rep.update(
        name=spec["name"],
        accuracy=scores["accuracy"],
        n_train=len(train),
        n_test=len(test),
        sample=held[0],
        detail=f"held-out accuracy {scores['accuracy']:.3f} on {len(test)}",
    )


def run_augment(spec: dict[str, Any], rep: Reporter) -> None:
    """LLM-written examples from the playground's (``byod text augment``'s calls), deduplicated.

    Kept rows go to ``generated.json`` with the counts requested / kept / dropped by reason /
    duplicates removed; the page adds the ones a person accepts to the examples.
    """
    from byod.encoders.cache import EmbeddingCache
    from byod.studio.textflow import TextDraft, task_of
    from byod.textlab.augment import GenerationConfig, augment
    from byod.textlab.dedupe import dedupe_frame
    from byod.textlab.hypermatch import encode_texts
    from byod.textlab.jsonl_cache import JsonlCache
    from byod.textlab.llm.options import LLMOptions

    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    draft = TextDraft(**spec["draft"])
    task = task_of(draft)
    texts, labels = draft.pairs()
    rep.update(stage="LLM", fraction=0.05, detail=f"opening {spec['llm']}")
    llm = LLMOptions(spec["llm"]).open(Path(spec["llm_dir"]), required=True)
    n = int(spec.get("n", 4))
    rep.update(stage="generate", fraction=0.2, detail=f"{n} examples")
    frame, stats = augment(llm, task, texts, labels, n=n, config=GenerationConfig(k=2),
                           seed=int(spec.get("seed", 0)), cache=JsonlCache(out / "llm.jsonl"),
                           progress=False)  # fmt: skip
    encode = None
    if spec.get("backbone", "none") != "none":  # near duplicates too, as the CLI does
        bb = _backbone(spec)
        vdir = spec.get("vector_cache_dir")
        vcache = EmbeddingCache(Path(vdir), bb.fingerprint, bb.dim) if vdir else None
        encode = lambda batch: encode_texts(batch, bb, vcache)  # noqa: E731
    rep.update(stage="dedupe", fraction=0.9)
    frame, dup = dedupe_frame(frame, texts, encode)
    rows = frame.select("text", "label", "confidence").to_dicts()
    summary = stats.as_dict() | {"duplicates_removed": dup, "written": frame.height}
    write_json({"summary": summary, "rows": rows}, out / "generated.json")
    rep.output("generated", out / "generated.json")
    rep.update(detail=f"{frame.height} of {n} kept")


def _text_job(name: str) -> Callable[[dict[str, Any], Reporter], None]:
    """A job of :mod:`byod.studio.textjobs` (imported when such a job runs)."""

    def run(spec: dict[str, Any], rep: Reporter) -> None:
        from byod.studio import textjobs

        getattr(textjobs, name)(spec, rep)

    return run


KINDS: dict[str, Callable[[dict[str, Any], Reporter], None]] = {
    "build": run_build,
    "classify": run_classify,
    "deploy": run_deploy,
    "text": run_text,
    "recommend": run_recommend,
    "augment": run_augment,
    "generate": _text_job("run_generate"),
    "pseudolabel": _text_job("run_pseudolabel"),
    "audit": _text_job("run_audit"),
}


def _error_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return line if isinstance(exc, ByodError) else f"{type(exc).__name__}: {line}"


def run_job(folder: Path) -> int:
    """Run the job in ``folder``; 0 when done, 1 when it failed, 130 when cancelled."""
    spec = json.loads((folder / "spec.json").read_text(encoding="utf-8"))
    spec.setdefault("out", str(folder / "out"))  # a job's files live in its own folder
    rep = Reporter(folder, folder.name, spec["kind"])

    def on_term(signum: int, frame: object) -> None:
        raise Cancelled

    signal.signal(signal.SIGTERM, on_term)
    try:
        KINDS[spec["kind"]](spec, rep)
    except Cancelled:
        rep.finish("cancelled")
        return 130
    except Exception as exc:  # noqa: BLE001 (every failure becomes the job's error line)
        traceback.print_exc()
        rep.finish("failed", _error_line(exc))
        return 1
    rep.finish("done")
    return 0


if __name__ == "__main__":
    sys.exit(run_job(Path(sys.argv[1])))
