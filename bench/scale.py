"""Scale: events/s of ingest -> serialize -> embed, Polars vs Ray (1 and 2 workers), and
pretraining users/s on 1 vs 2 Ray Train workers (peer: byod's one-process Trainer).

Each (size, backend, workers) runs in its own subprocess on the same synthetic log (``byod data
synth``), with a fresh event-text cache, so its memory and cache hits are its own. Memory is
sampled every 0.2 s over the subprocess and everything it started (a local Ray cluster's raylet,
workers and object store included): ``peak MB`` is the largest single process, ``total MB`` the
whole tree at its peak. The outputs of both backends are checked equal (users, event counts).

    python bench/scale.py --sizes 100000,1000000 --workers 1,2 --out runs/scale
    python bench/scale.py --pretrain --users 2000 --steps 15 --batch 64 --out runs/scale

The machine's load (``uptime``) is printed with every figure: on a shared machine the speeds are
depressed and the ratios noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

EVENTS_PER_USER = 50
MAX_EVENTS = 64


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


class Memory:
    """Peak RSS of this process tree, sampled in a thread: (largest process, whole tree) in MB."""

    def __init__(self) -> None:
        import psutil

        self.root = psutil.Process()
        self.peak_one = self.peak_total = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = []
            for p in [self.root, *self.root.children(recursive=True)]:
                try:
                    rss.append(p.memory_info().rss / 2**20)
                except Exception:  # noqa: BLE001 (a process that just ended)
                    continue
            self.peak_one = max(self.peak_one, max(rss, default=0.0))
            self.peak_total = max(self.peak_total, sum(rss))
            time.sleep(0.2)

    def __enter__(self) -> Memory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _step(name: str, fn, n_events: int) -> tuple[dict, object]:
    with Memory() as mem:
        t0 = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t0
    return {
        "step": name,
        "seconds": seconds,
        "events_per_s": n_events / seconds,
        "peak_mb": mem.peak_one,
        "total_mb": mem.peak_total,
        "load": load(),
    }, out


def child(cfg: dict) -> dict:
    """One pipeline run: ingest -> serialize -> embed with one backend."""
    from byod.data.config import load_ingest_config
    from byod.data.serialize import SerializeConfig

    work = Path(cfg["work"])
    backend, workers = cfg["backend"], cfg["workers"]
    ingest_cfg = load_ingest_config(cfg["yaml"], out_dir=work)
    ser = SerializeConfig(max_events=MAX_EVENTS)
    rows = []
    startup = 0.0
    if backend == "ray":
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        startup = time.perf_counter() - t0
        from byod.distributed.ray_data import ingest_ray, serialize_ray
        from byod.distributed.ray_embed import embed_ray

        r, summary = _step("ingest", lambda: ingest_ray(ingest_cfg, workers=workers), cfg["n"])
        rows.append(r)
        r, _ = _step(
            "serialize",
            lambda: serialize_ray(work / "events.parquet", work / "h.parquet", ser),
            summary["accepted"],
        )
        rows.append(r)
        if not cfg.get("embed", True):
            return _result(cfg, summary, None, startup, rows)
        r, table = _step(
            "embed",
            lambda: embed_ray(
                Path(cfg["model"]),
                work / "h.parquet",
                work / "f",
                kind="histories",
                vector_cache_dir=work / "cache",
                models_dir=Path(cfg["models_dir"]),
                workers=workers,
            ),  # fmt: skip
            summary["accepted"],
        )
        rows.append(r)
    else:
        from byod.data.ingest import ingest
        from byod.data.schema import read_table
        from byod.data.serialize import serialize, write_histories
        from byod.encoders.user import UserEncoder
        from byod.features.table import write_feature_table

        r, result = _step("ingest", lambda: ingest(ingest_cfg), cfg["n"])
        summary = result.summary
        rows.append(r)
        r, _ = _step(
            "serialize",
            lambda: write_histories(
                serialize(read_table(work / "events.parquet", "events"), ser),
                work / "h.parquet",
                ser,
            ),
            summary["accepted"],
        )
        rows.append(r)
        if not cfg.get("embed", True):
            return _result(cfg, summary, None, startup, rows)

        def embed():
            encoder = UserEncoder.load(
                cfg["model"], vector_cache_dir=work / "cache", models_dir=cfg["models_dir"]
            )
            features = encoder.encode(read_table(work / "h.parquet", "histories"))
            return write_feature_table(features, work / "f", {"backend": "polars"})

        r, table = _step("embed", embed, summary["accepted"])
        rows.append(r)
    return _result(cfg, summary, table, startup, rows)


def _result(cfg: dict, summary: dict, table, startup: float, rows: list[dict]) -> dict:
    return {
        "backend": cfg["backend"],
        "workers": cfg["workers"],
        "events": summary["accepted"],
        "users": table.features.height if table is not None else summary["users"],
        "startup_s": startup,
        "steps": rows,
    }


def prepare(
    size: int, root: Path, backbone_name: str, models_dir: Path, items: int
) -> tuple[Path, Path]:
    """The synthetic log of ``size`` events and a (randomly initialised) sequence-mode model."""
    from byod.data.synth import SynthConfig, synth_logs

    logs = root / f"logs-{size}"
    yaml_path = logs / "ingest.yaml"
    if not yaml_path.exists():
        synth_logs(
            SynthConfig(users=size // EVENTS_PER_USER, events_per_user=EVENTS_PER_USER), logs
        )
    model = root / "model"
    if not (model / "user_encoder.json").exists():
        from byod.data.config import load_ingest_config
        from byod.data.ingest import ingest_sources
        from byod.data.serialize import SerializeConfig, serialize
        from byod.encoders.backbone import open_backbone
        from byod.pretrain.run import baseline_encoder

        events = ingest_sources(load_ingest_config(yaml_path).sources).events
        histories = serialize(events.head(20_000), SerializeConfig(max_events=MAX_EVENTS))
        bb = open_backbone(backbone_name, models_dir=models_dir)
        baseline_encoder("random", histories, bb, max_events=MAX_EVENTS).save(model)
    return yaml_path, model


def run_pipelines(args: argparse.Namespace) -> list[dict]:
    root = Path(args.out)
    results = []
    for size in args.sizes:
        yaml_path, model = prepare(size, root, args.backbone, args.models_dir, args.items)
        configs = [("polars", 1)] + [("ray", w) for w in args.workers]
        for backend, workers in configs:
            work = root / f"run-{size}-{backend}-{workers}"
            subprocess.run(["rm", "-rf", str(work)], check=True)
            cfg = {
                "yaml": str(yaml_path), "work": str(work), "backend": backend, "workers": workers,
                "model": str(model), "models_dir": str(args.models_dir), "n": size,
                "embed": size <= args.embed_up_to,
            }  # fmt: skip
            proc = subprocess.run(
                [sys.executable, __file__, "--child", json.dumps(cfg)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if proc.returncode:
                print(proc.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{backend} x{workers} at {size} failed")
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            res["size"] = size
            results.append(res)
            _print_run(res)
            subprocess.run(["rm", "-rf", str(work)], check=True)
    return results


def _print_run(res: dict) -> None:
    name = f"{res['backend']} x{res['workers']}"
    for r in res["steps"]:
        print(
            f"{res['size']:>9,} {name:<9} {r['step']:<9} {r['seconds']:8.1f} s "
            f"{r['events_per_s']:>10,.0f} ev/s  peak {r['peak_mb']:7.0f} MB  "
            f"tree {r['total_mb']:7.0f} MB  ({r['load']})",
            flush=True,
        )


def ratios(results: list[dict]) -> None:
    print("\nthroughput ratios (events/s; > 1: faster than the reference)")
    for size in sorted({r["size"] for r in results}):
        runs = {(r["backend"], r["workers"]): r for r in results if r["size"] == size}
        base = runs[("polars", 1)]
        for key, r in runs.items():
            if key[0] != "ray":
                continue
            assert r["users"] == base["users"] and r["events"] == base["events"], "outputs differ"
            for a, b in zip(r["steps"], base["steps"], strict=True):
                one = runs.get(("ray", 1))  # absent when --workers leaves 1 out
                vs1 = "n/a" if one is None else (
                    f"{a['events_per_s'] / next(s for s in one['steps'] if s['step'] == a['step'])['events_per_s']:5.2f}x"
                )  # fmt: skip
                print(
                    f"{size:>9,} ray x{key[1]} {a['step']:<9} vs polars "
                    f"{a['events_per_s'] / b['events_per_s']:5.2f}x   vs ray x1 {vs1}"
                )


def markdown(results: list[dict]) -> None:
    """The pipeline figures as a Markdown table (what docs/scaling.md carries)."""
    print(
        "\n| events | backend | step | s | events/s | peak MB (largest process) | tree MB | load |"
    )
    print("|---:|---|---|---:|---:|---:|---:|---|")
    for res in results:
        for r in res["steps"]:
            print(
                f"| {res['size']:,} | {res['backend']} x{res['workers']} | {r['step']} | "
                f"{r['seconds']:.1f} | {r['events_per_s']:,.0f} | {r['peak_mb']:,.0f} | "
                f"{r['total_mb']:,.0f} | {r['load'].removeprefix('load ')} |"
            )
        if res["backend"] == "ray":
            print(f"| {res['size']:,} | {res['backend']} x{res['workers']} | cluster start | "
                  f"{res['startup_s']:.1f} | | | | |")  # fmt: skip


def pretrain_bench(args: argparse.Namespace) -> list[dict]:
    """Users/s of pretraining: one process (byod's Trainer) vs Ray Train with 1 and 2 workers."""
    from byod.data.config import load_ingest_config
    from byod.data.ingest import ingest_sources
    from byod.data.serialize import SerializeConfig, serialize
    from byod.encoders.backbone import open_backbone
    from byod.pretrain.run import PretrainConfig

    root = Path(args.out)
    size = args.users * EVENTS_PER_USER
    yaml_path, _ = prepare(size, root, args.backbone, args.models_dir, args.items)
    events = ingest_sources(load_ingest_config(yaml_path).sources).events
    histories = serialize(events, SerializeConfig(max_events=MAX_EVENTS))
    bb = open_backbone(args.backbone, models_dir=args.models_dir)
    cfg = PretrainConfig.from_dict(
        {"objective": "clue", "backbone": args.backbone, "max_events": MAX_EVENTS,
         "train": {"batch_size": args.batch, "chunk_size": args.batch, "epochs": 100,
                   "max_steps": args.steps, "val_fraction": 0.02, "device": "cpu"}}
    )  # fmt: skip
    out = [_one_process(histories, bb, cfg, root / "cache")]
    print(f"pretrain one process: {out[0]['samples_per_s']:.1f} users/s ({load()})", flush=True)
    import ray

    from byod.distributed.ray_train import pretrain_ray

    ray.init(num_cpus=max(args.workers), include_dashboard=False, log_to_driver=False)
    for w in args.workers:
        t0 = time.perf_counter()
        _, run = pretrain_ray(
            histories, root / f"pretrain-ray-{w}", cfg, workers=w, backbone=bb,
            vector_cache_dir=root / "cache", checkpoint_every=1000,
        )  # fmt: skip
        row = {"backend": "ray", "workers": w, "samples_per_s": run.samples_per_s,
               "negatives": run.negatives_per_anchor, "wall_s": time.perf_counter() - t0,
               "load": load()}  # fmt: skip
        out.append(row)
        print(f"pretrain ray x{w}: {row['samples_per_s']:.1f} users/s, {row['negatives']} "
              f"negatives, wall {row['wall_s']:.0f} s ({row['load']})", flush=True)  # fmt: skip
    one = next(r for r in out if r["workers"] == 1 and r["backend"] == "ray")
    for r in out:
        print(
            f"  {r['backend']} x{r['workers']}: {r['samples_per_s'] / one['samples_per_s']:.2f}x ray x1"
        )
    return out


def _one_process(histories, backbone, cfg, cache_dir) -> dict:
    import functools

    import torch

    from byod.encoders.cache import EmbeddingCache
    from byod.encoders.histories import HistoryArrays
    from byod.encoders.sequence import SequenceEncoder
    from byod.pretrain.objectives import ObjectiveMix
    from byod.pretrain.run import sequence_config
    from byod.pretrain.trainer import Trainer

    cache = EmbeddingCache(cache_dir, backbone.fingerprint, backbone.dim)
    arrays = HistoryArrays.build(histories, backbone, cache=cache)
    timer = {"t0": None, "first": 0, "last": 0}

    class Timer:
        def on_step_end(self, trainer, state):
            if timer["t0"] is None:
                timer["t0"], timer["first"] = time.perf_counter(), state.global_step
            timer["last"], timer["t1"] = state.global_step, time.perf_counter()

    torch.manual_seed(0)
    trainer = Trainer(
        SequenceEncoder(sequence_config(cfg, arrays)),
        ObjectiveMix.parse(cfg.objective, cfg.max_events, cfg.views, **cfg.loss),
        functools.partial(torch.optim.AdamW, **cfg.optimizer),
        cfg.train,
        callbacks=[Timer()],
    )
    trainer.fit(arrays)
    steps = timer["last"] - timer["first"]
    return {"backend": "one-process", "workers": 1, "load": load(),
            "samples_per_s": steps * cfg.train.batch_size / (timer["t1"] - timer["t0"])}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--sizes", default="100000", help="comma-separated event counts")
    p.add_argument("--workers", default="1,2", help="Ray worker counts")
    p.add_argument("--backbone", default="minilm")
    p.add_argument("--models-dir", type=Path, default=Path.home() / ".cache" / "byod" / "models")
    p.add_argument("--out", default="runs/scale")
    p.add_argument("--pretrain", action="store_true", help="the pretraining benchmark instead")
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--embed-up-to", type=int, default=10**9, help="embed only up to this size")
    p.add_argument("--items", type=int, default=200, help="catalogue size per service")
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--batch", type=int, default=64, help="users per worker per step")
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.sizes = [int(float(s)) for s in args.sizes.split(",")]
    args.workers = [int(w) for w in args.workers.split(",")]
    Path(args.out).mkdir(parents=True, exist_ok=True)
    print(f"start ({load()})")
    if args.pretrain:
        results = pretrain_bench(args)
    else:
        results = run_pipelines(args)
        ratios(results)
        markdown(results)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    name = "pretrain" if args.pretrain else "pipeline"
    (Path(args.out) / f"scale-{name}-{stamp}.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
