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


def run_deploy(spec: dict[str, Any], rep: Reporter) -> None:
    """Assemble a deployment folder (``byod deploy``) from a built model, table and labels."""
    import polars as pl

    from byod.encoders.user import UserEncoder
    from byod.features.table import read_feature_table
    from byod.serve.build import DeploySpec, build_deployment

    rep.update(stage="deploy", fraction=0.1, detail="loading the model")
    encoder = UserEncoder.load(
        spec["model"],
        vector_cache_dir=spec.get("vector_cache_dir"),
        models_dir=spec.get("models_dir"),
    )
    table = read_feature_table(spec["features"])
    labels = pl.read_parquet(spec["labels"]) if spec.get("labels") else None
    tasks = tuple(spec.get("tasks", ()))
    rep.update(fraction=0.3, detail=f"fitting heads {list(tasks)}")
    build_deployment(
        DeploySpec(
            encoder=encoder,
            encoder_dir=Path(spec["model"]),
            table=table,
            labels=labels,
            tasks=tasks,
        ),
        spec["out"],
    )
    rep.output("deployment", Path(spec["out"]))


KINDS: dict[str, Callable[[dict[str, Any], Reporter], None]] = {
    "build": run_build,
    "classify": run_classify,
    "deploy": run_deploy,
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
