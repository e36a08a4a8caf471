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
    # Eight random words of 5,000 each: item vectors as spread out as real text vectors (a few
    # shared genre words only would make thousands of near-ties and recall meaningless).
    words = [f"w{j}" for j in range(5000)]
    items = [f"{genres[i % 8]} " + " ".join(rng.choice(words, 8)) for i in range(N_ITEMS)]
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


def ann_recall(deployment: Path, k: int = 100, n_queries: int = 1000) -> dict:
    """recall@k of HNSW and of the deployed index vs exact search, with the head's queries."""
    import faiss
    import polars as pl
    from safetensors.torch import load_file

    from byod.serve.items import build_item_index, recall_at_k
    from byod.transfer.recommend import RecommendConfig, RecommendHead

    folder = deployment / "recommend" / "next-item"
    card = json.loads((folder / "card.json").read_text())
    head = RecommendHead.from_state_tensors(
        RecommendConfig(**card["config"]), load_file(str(folder / "head.safetensors"))
    )
    items = np.load(deployment / "items/vectors.npy")
    users = np.load(deployment / "table/vectors.npy", mmap_mode="r")[:n_queries]
    seen = pl.read_parquet(deployment / "items/seen.parquet")["items"].to_list()
    prev = items[[s[-1] for s in seen[: len(users)]] + [0] * (len(users) - len(seen))]
    x = np.concatenate([users, prev], axis=1) if head.config.last_item else np.asarray(users)
    queries = head.retrieval_query(x)
    t = time.perf_counter()
    hnsw = build_item_index(items, "hnsw")
    build_s = time.perf_counter() - t
    deployed = faiss.read_index(str(deployment / "items/index.faiss"))
    return {"k": k, "queries": len(queries), "hnsw": recall_at_k(hnsw, items, queries, k),
            "deployed": recall_at_k(deployed, items, queries, k), "hnsw_build_s": build_s}  # fmt: skip


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
    def healthz(request):
        return Response(b"{}", media_type="application/json")
    return Starlette(routes=[Route("/v1/users/{user_id}/embedding", embedding),
                             Route("/healthz", healthz)])
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
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{factory} did not start")


# ------------------------------------------------------------------------------ generator
def _request_bytes(method: str, url: str, body: dict | None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    return (head + "\r\n").encode() + payload


async def _exchange(reader, writer, raw: bytes) -> int:  # noqa: ANN001
    """One keep-alive HTTP/1.1 request; returns the status (uvicorn always sends a length)."""
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def paced(port: int, make, rps: float, duration: float, connections: int = 32) -> dict:
    """Open-loop load over a pool of keep-alive connections; latency from each due time.

    A plain asyncio HTTP/1.1 client (a few µs per request) rather than httpx, whose per-request
    cost on a loaded 2-core machine would make the client, not the server, the bottleneck.
    """
    n = int(rps * duration)
    t0 = time.perf_counter() + 0.05
    latencies, errors, next_i = [], 0, 0

    async def worker() -> None:
        nonlocal errors, next_i
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_i < n:
                i, next_i = next_i, next_i + 1
                due = t0 + i / rps
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                try:
                    ok = (
                        await asyncio.wait_for(
                            _exchange(reader, writer, _request_bytes(*make(i))), 10
                        )
                        < 300
                    )
                except (TimeoutError, OSError, asyncio.IncompleteReadError):
                    ok = False
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                latencies.append(time.perf_counter() - due)
                errors += not ok
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    wall = time.perf_counter() - t0
    lat = np.array(latencies) * 1e3
    return {"requests": n, "errors": errors, "rps": n / wall,
            **{f"p{q}": float(np.percentile(lat, q)) for q in (50, 95, 99)}}  # fmt: skip


def run_scenario(port: int, make, rps: float, duration: float, warmup: float, repeats: int):
    async def go() -> list[dict]:
        await paced(port, make, rps, warmup)
        return [await paced(port, make, rps, duration) for _ in range(repeats)]

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
    report["ann_recall@100"] = ann_recall(deployment)
    floor = start("floor_app", deployment, args.port, work, hashing)
    try:
        report["floor_lookup"] = run_scenario(
            args.port, lookup, args.lookup_rps, args.duration, args.warmup, args.repeats
        )
    finally:
        floor.terminate()
        floor.wait()
    server = start("byod_app", deployment, args.port, work, hashing)
    try:
        report["lookup"] = run_scenario(
            args.port, lookup, args.lookup_rps, args.duration, args.warmup, args.repeats
        )
        report["recommend"] = run_scenario(
            args.port, rec, args.recommend_rps, args.duration, args.warmup, args.repeats
        )
        report["embed64"] = run_scenario(
            args.port, embed, args.embed_rps, args.duration, args.warmup, args.repeats
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
    rec = report["ann_recall@100"]
    print(f"lookup p99 / bare-ASGI floor p99: {ratio:.2f}x; recall@100 vs exact search over "
          f"{manifest['items']['rows']:,} items: HNSW {rec['hnsw']:.4f}, deployed "
          f"{manifest['items']['ann']} {rec['deployed']:.4f}")  # fmt: skip
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
