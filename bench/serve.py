"""Paced load on loopback against `byod serve`, next to a bare ASGI floor on the same vectors.

The generator is open-loop: request i is due at t0 + i / rps and its latency counts from that
due time, so a slow server cannot hide queueing by slowing the client (no coordinated omission).
Each scenario runs `--repeats` times after a warm-up; p50 / p95 / p99 are reported as mean ± std
over the repeats. The floor is a plain Starlette app returning the same vectors from a dict
(same uvicorn, same JSON encoder): the ratio says what byod's routing, checks and metrics cost.

    python bench/serve.py --synthetic 100000 --duration 30 --out runs/bench/serve.json
    python bench/serve.py --deployment runs/quick/deploy --duration 30 --out runs/bench/serve-quick.json

`--synthetic N` builds an N-user x 384-d deployment with a hashing backbone (no model files),
3,706 items and an HNSW item index, so recall@100 of the ANN vs exact search is measured too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DIM, N_ITEMS = 384, 3706


# ----------------------------------------------------------------------- synthetic deployment
def build_synthetic(n_users: int, out: Path, seed: int = 0) -> Path:
    import polars as pl

    from byod.data.schema import EVENT_SCHEMA, INTERACTION_SCHEMA
    from byod.data.serialize import serialize
    from byod.encoders.hashing import HashingBackbone
    from byod.encoders.user import model_hash
    from byod.features.table import write_feature_table
    from byod.pretrain.run import baseline_encoder
    from byod.serve.build import DeploySpec, build_deployment

    rng = np.random.default_rng(seed)
    backbone = HashingBackbone(dim=DIM)
    genres = ["action", "drama", "comedy", "horror", "space", "love", "war", "kids"]
    items = [f"item{i} {genres[i % 8]} {genres[(i * 7) % 8]}" for i in range(N_ITEMS)]
    n_active, t0, rows = min(n_users, 3000), datetime(2024, 1, 1, tzinfo=UTC), []
    for u in range(n_active):
        for j, it in enumerate(rng.choice(N_ITEMS, 20, replace=False).tolist()):
            rows.append((f"u{u}", f"i{it}", items[it], t0 + timedelta(minutes=j), len(rows)))
    inter = pl.DataFrame(rows, schema=list(INTERACTION_SCHEMA), orient="row").cast(
        INTERACTION_SCHEMA
    )
    events = inter.select("user_id", "timestamp", service=pl.lit("shop"),
                          text="item_text", item_id="item_id", seq="seq").cast(EVENT_SCHEMA)  # fmt: skip
    encoder = baseline_encoder("zero-shot", serialize(events.head(200)), backbone)
    model_dir = encoder.save(out / "model")
    vectors = rng.normal(size=(n_users, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    features = pl.DataFrame(
        {"user_id": [f"u{i}" for i in range(n_users)], "vector": vectors},
        schema={"user_id": pl.String, "vector": pl.Array(pl.Float32, DIM)},
    )
    cfg = encoder.config
    table = write_feature_table(features, out / "features", {
        "backbone": cfg.backbone, "backbone_fingerprint": cfg.backbone_fingerprint,
        "model_hash": model_hash(model_dir), "objective": "synthetic", "mode": cfg.mode})  # fmt: skip
    spec = DeploySpec(encoder=encoder, encoder_dir=model_dir, table=table, interactions=inter,
                      ann="hnsw", epochs=2)  # fmt: skip
    build_deployment(spec, out / "deploy")
    return out / "deploy"


# ------------------------------------------------------------------------------- servers
SHIM = """
import os
from byod.encoders.hashing import HashingBackbone
from byod.serve import ServeSettings, create_app
from byod.serve.app import default_loader

def byod_app():
    s = ServeSettings()
    opener = (lambda n: HashingBackbone(dim=__DIM__)) if os.environ.get("BENCH_HASHING") else None
    return create_app(s, loader=default_loader(s, opener))

def floor_app():
    import numpy as np, orjson, polars as pl
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route
    root = os.environ["BYOD_SERVE_DEPLOYMENT"]
    ids = pl.read_parquet(root + "/table/user_ids.parquet")["user_id"].to_list()
    vecs = np.load(root + "/table/vectors.npy", mmap_mode="r")
    rows = {u: i for i, u in enumerate(ids)}
    def embedding(request):
        uid = request.path_params["user_id"]
        body = {"user_id": uid, "vector": np.asarray(vecs[rows[uid]])}
        return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
                        media_type="application/json")
    return Starlette(routes=[Route("/v1/users/{user_id}/embedding", embedding)])
""".replace("__DIM__", str(DIM))


def start(factory: str, deployment: Path, port: int, shim_dir: Path, hashing: bool):
    env = {**os.environ, "BYOD_SERVE_DEPLOYMENT": str(deployment),
           "PYTHONPATH": os.pathsep.join([str(shim_dir), str(ROOT / "src")])}  # fmt: skip
    if hashing:
        env["BENCH_HASHING"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"bench_shim:{factory}", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    for _ in range(1200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/users/u0/embedding", timeout=1).status_code:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{factory} did not start")


# ------------------------------------------------------------------------------ generator
async def paced(client: httpx.AsyncClient, make, rps: float, duration: float) -> dict:
    """Open-loop load; latency from each request's due time."""
    latencies, errors = [], 0
    t0 = time.perf_counter() + 0.05
    n = int(rps * duration)

    async def one(i: int) -> None:
        nonlocal errors
        due = t0 + i / rps
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        method, url, body = make(i)
        try:
            r = await client.request(method, url, json=body)
            ok = r.status_code < 300
        except httpx.HTTPError:
            ok = False
        latencies.append(time.perf_counter() - due)
        errors += not ok

    await asyncio.gather(*(one(i) for i in range(n)))
    wall = time.perf_counter() - t0
    lat = np.array(latencies) * 1e3
    return {"requests": n, "errors": errors, "rps": n / wall,
            **{f"p{q}": float(np.percentile(lat, q)) for q in (50, 95, 99)}}  # fmt: skip


def run_scenario(base: str, make, rps: float, duration: float, warmup: float, repeats: int):
    async def go() -> list[dict]:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
        async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as client:
            await paced(client, make, rps, warmup)
            return [await paced(client, make, rps, duration) for _ in range(repeats)]

    runs = asyncio.run(go())
    out = {"rps_target": rps, "runs": runs}
    for key in ("p50", "p95", "p99", "rps"):
        values = np.array([r[key] for r in runs])
        out[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}  # fmt: skip
    out["errors"] = int(sum(r["errors"] for r in runs))
    return out


def new_user_events(n: int) -> list[dict]:
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    genres = ["Action", "Drama", "Comedy", "Horror", "Sci-Fi", "Romance", "War", "Children's"]
    return [{"timestamp": (t0 + timedelta(hours=i)).isoformat(), "service": "action",
             "text": f"Movie {i} (1990) | {genres[i % 8]}, {genres[(3 * i) % 8]} | rated {1 + i % 5}/5",
             "item_id": str(1 + i)} for i in range(n)]  # fmt: skip


# ----------------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deployment", type=Path)
    ap.add_argument("--synthetic", type=int, default=0, help="build an N-user synthetic deployment")
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lookup-rps", type=float, default=300)
    ap.add_argument("--recommend-rps", type=float, default=50)
    ap.add_argument("--embed-rps", type=float, default=2)
    ap.add_argument("--port", type=int, default=18931)
    ap.add_argument("--out", type=Path, default=ROOT / "runs/bench/serve.json")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    work = Path(tempfile.mkdtemp(prefix="byod-bench-serve-"))
    (work / "bench_shim.py").write_text(SHIM)
    hashing = args.synthetic > 0
    deployment = build_synthetic(args.synthetic, work) if hashing else args.deployment
    manifest = json.loads((deployment / "deployment.json").read_text())
    import polars as pl

    ids = pl.read_parquet(deployment / "table/user_ids.parquet")["user_id"].to_list()
    rng = np.random.default_rng(0)
    picks = [ids[i] for i in rng.integers(0, len(ids), 100_000)]
    seen = pl.read_parquet(deployment / "items/seen.parquet")["user_id"].to_list()
    rec_users = [seen[i] for i in rng.integers(0, len(seen), 10_000)]
    lookup = lambda i: ("GET", f"/v1/users/{picks[i % len(picks)]}/embedding", None)  # noqa: E731
    rec = lambda i: ("POST", "/v1/recommend", {"user_id": rec_users[i % len(rec_users)], "k": 100})  # noqa: E731
    events = new_user_events(64)
    embed = lambda i: ("POST", "/v1/users/embed", {"events": events})  # noqa: E731
    report = {"deployment": str(deployment), "users": len(ids), "dim": manifest["table"]["dim"],
              "items": manifest["items"], "duration_s": args.duration, "repeats": args.repeats,
              "cpu_count": os.cpu_count(), "load_avg_1m": os.getloadavg()[0]}  # fmt: skip
    base = f"http://127.0.0.1:{args.port}"
    floor = start("floor_app", deployment, args.port, work, hashing)
    try:
        report["floor_lookup"] = run_scenario(
            base, lookup, args.lookup_rps, args.duration, args.warmup, args.repeats
        )
    finally:
        floor.terminate()
        floor.wait()
    server = start("byod_app", deployment, args.port, work, hashing)
    try:
        report["lookup"] = run_scenario(
            base, lookup, args.lookup_rps, args.duration, args.warmup, args.repeats
        )
        report["recommend"] = run_scenario(
            base, rec, args.recommend_rps, args.duration, args.warmup, args.repeats
        )
        report["embed64"] = run_scenario(
            base, embed, args.embed_rps, args.duration, args.warmup, args.repeats
        )
    finally:
        server.terminate()
        server.wait()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"{'scenario':<12}{'rps':>8}{'p50 ms':>16}{'p95 ms':>16}{'p99 ms':>16}{'errors':>8}")
    for name in ("floor_lookup", "lookup", "recommend", "embed64"):
        r = report[name]
        cells = "".join(
            f"{r[k]['mean']:>9.2f} ± {r[k]['std']:<4.1f}" for k in ("p50", "p95", "p99")
        )
        print(f"{name:<12}{r['rps']['mean']:>8.1f}{cells}{r['errors']:>8}")
    ratio = report["lookup"]["p99"]["mean"] / report["floor_lookup"]["p99"]["mean"]
    print(f"lookup p99 / bare-ASGI floor p99: {ratio:.2f}x; item ANN ({manifest['items']['ann']}) "
          f"recall@100 vs exact: {manifest['items']['recall@100']:.4f}")  # fmt: skip
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
