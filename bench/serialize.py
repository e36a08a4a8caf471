"""Ingest + serialize MovieLens-1M: byod (pyarrow + Polars) against a plain pandas version.

Both implementations do the same work on the same raw log (a denormalised TSV of 1,000,209 ratings,
as a business log would look): read, parse epoch timestamps, render the event text from a template,
reject unusable rows, drop duplicates, write the events table, then build per-(user, service)
histories in time order (ties by file row), keep the 256 most recent events, join them into one
text, and write the histories table. Each implementation runs in its own subprocess so its peak RAM
is its own. The outputs are compared (same histories, same texts) so the ratio compares equal work.

    python bench/serialize.py            # 3 repeats each, prints a table and the ratio
    python bench/serialize.py --repeats 5 --dataset ml-100k
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAX_EVENTS = 256
TEMPLATE = ("movie", " | ", "genres", " | rated ", "rating", "/5")


def run_byod(workdir: Path) -> dict:
    from byod.atomic import write_parquet
    from byod.data.config import load_ingest_config
    from byod.data.ingest import ingest
    from byod.data.schema import read_table
    from byod.data.serialize import SerializeConfig, serialize

    t0 = time.perf_counter()
    result = ingest(load_ingest_config(workdir / "ingest.yaml"))
    events = read_table(result.summary["outputs"]["events"], "events")
    histories = serialize(events, SerializeConfig(max_events=MAX_EVENTS))
    write_parquet(histories, workdir / "byod_histories.parquet")
    return {"seconds": time.perf_counter() - t0, "events": result.summary["accepted"]}


def run_pandas(workdir: Path) -> dict:
    """The lower anchor: the way this is usually first written, with groupby().apply()."""
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_csv(workdir / "ratings.tsv", sep="\t", dtype=str, keep_default_na=False)
    df["seq"] = range(2, len(df) + 2)
    df["timestamp"] = pd.to_datetime(pd.to_numeric(df["ts"], errors="coerce"), unit="s", utc=True)
    df["text"] = df["movie"] + " | " + df["genres"] + " | rated " + df["rating"] + "/5"
    df["text"] = df["text"].str.replace(r"\s+", " ", regex=True).str.strip()
    ok = df["uid"].str.strip().ne("") & df["timestamp"].notna() & df["movie"].str.strip().ne("")
    events = df.loc[ok, ["uid", "timestamp", "genre_group", "text", "movie_id", "seq"]]
    events = events.rename(
        columns={"uid": "user_id", "genre_group": "service", "movie_id": "item_id"}
    )
    events = events.drop_duplicates(["user_id", "timestamp", "service", "text", "item_id"])
    events.to_parquet(workdir / "pandas_events.parquet", index=False)

    events = pd.read_parquet(workdir / "pandas_events.parquet")
    events = events.sort_values(["user_id", "service", "timestamp", "seq"], kind="stable")

    def history(g: pd.DataFrame) -> pd.Series:
        g = g.tail(MAX_EVENTS)
        return pd.Series(
            {
                "n_events": len(g),
                "first_ts": g["timestamp"].iloc[0],
                "last_ts": g["timestamp"].iloc[-1],
                "event_texts": g["text"].tolist(),
                "text": "\n".join(g["text"]),
            }
        )

    histories = events.groupby(["user_id", "service"], sort=True).apply(history).reset_index()
    histories.to_parquet(workdir / "pandas_histories.parquet", index=False)
    return {"seconds": time.perf_counter() - t0, "events": len(events)}


def worker(impl: str, workdir: Path, repeats: int) -> None:
    fn = {"byod": run_byod, "pandas": run_pandas}[impl]
    runs = [fn(workdir) for _ in range(repeats)]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = sorted(r["seconds"] for r in runs)
    print(json.dumps({"times": times, "events": runs[0]["events"], "peak_mb": peak_mb}))


def prepare(dataset: str, workdir: Path) -> None:
    from byod.data.builtin.export import export_logs
    from byod.data.builtin.movielens import load_movielens

    export_logs(load_movielens(dataset), workdir)


def check_same(workdir: Path) -> str:
    import polars as pl

    ours = pl.read_parquet(workdir / "byod_histories.parquet").select("user_id", "service", "text")
    theirs = pl.read_parquet(workdir / "pandas_histories.parquet").select(
        "user_id", "service", "text"
    )
    ours, theirs = ours.sort("user_id", "service"), theirs.sort("user_id", "service")
    if ours.height != theirs.height or not ours.equals(theirs):
        return f"MISMATCH: byod {ours.height} histories vs pandas {theirs.height}"
    return f"outputs identical ({ours.height:,} histories)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=["byod", "pandas"])
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.workdir, args.repeats)
        return
    with tempfile.TemporaryDirectory(prefix="byod-bench-") as tmp:
        workdir = Path(tmp)
        prepare(args.dataset, workdir)
        results = {}
        for impl in ("byod", "pandas"):
            out = subprocess.run(
                [sys.executable, __file__, "--worker", impl, "--workdir", str(workdir),
                 "--repeats", str(args.repeats)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            results[impl] = json.loads(out.stdout.strip().splitlines()[-1])
        same = check_same(workdir)
    print_table(args, results, same)


def print_table(args: argparse.Namespace, results: dict, same: str) -> None:
    n = results["byod"]["events"]
    print(f"ingest + serialize {args.dataset}: {n:,} events, best of {args.repeats} runs; {same}")
    print(f"{'impl':<8} {'best s':>8} {'median s':>9} {'events/s':>12} {'peak RAM MB':>12}")
    for impl, r in results.items():
        best, median = r["times"][0], r["times"][len(r["times"]) // 2]
        print(f"{impl:<8} {best:>8.2f} {median:>9.2f} {n / best:>12,.0f} {r['peak_mb']:>12,.0f}")
    ratio = results["pandas"]["times"][0] / results["byod"]["times"][0]
    print(f"speed-up byod vs pandas groupby().apply(): {ratio:.1f}x (best vs best)")
    target = n / results["byod"]["times"][0] >= 1_000_000
    print(f"target >= 1,000,000 events/s end to end: {'met' if target else 'NOT met'}")


if __name__ == "__main__":
    main()
