"""Compare Quiver's store search with faiss-cpu's IndexFlatIP on the same synthetic workload.

Quiver's figures come first, from `quiver-bench store ... --json` (run as a subprocess)
or from a JSON file saved earlier (--quiver-json). Then, in the same run, faiss builds an
exact inner-product index over N seeded random unit vectors (uniform in [-1, 1], then
L2-normalized, float32) and is timed the way Quiver's benchmark times itself:

- single query: one warm-up search, then --queries searches of one random unit query
  each; p50 and p99 latency in ms;
- batches of 1, 16, 256 and 1000 queries: each batch searched at least 3 times and until
  2 seconds pass (at most 50 times); the best time counts, qps = batch / best.

Ratios: single_vs_faiss = faiss p50 / Quiver p50, batchB_vs_faiss = Quiver qps / faiss qps;
above 1 means Quiver is faster. faiss runs with its default OpenMP threads and the
environment untouched; faiss_threads reports how many it used.

Usage: python3 tools/bench/faiss_store.py [--n 100000] [--dim 384] [--k 10] [--queries 200]
       [--seed 42] [--quiver-bin PATH] [--quiver-json FILE] [--json]
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np

REPO = Path(__file__).resolve().parents[2]
BATCHES = [1, 16, 256, 1000]


def unit_vectors(rng, count, dim, chunk=100_000):
    """count x dim float32 rows, uniform in [-1, 1] then L2-normalized, built in chunks."""
    out = np.empty((count, dim), dtype=np.float32)
    for i in range(0, count, chunk):
        m = min(chunk, count - i)
        v = rng.uniform(-1.0, 1.0, size=(m, dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[i:i + m] = v
    return out


def quiver_figures(args):
    if args.quiver_json:
        return json.loads(Path(args.quiver_json).read_text())
    binary = Path(args.quiver_bin) if args.quiver_bin else REPO / ".build/release/quiver-bench"
    if not binary.is_file():
        sys.exit(f"quiver-bench not found at {binary}; run `swift build -c release` first "
                 "(or pass --quiver-bin PATH / --quiver-json FILE).")
    cmd = [str(binary), "store", "--n", str(args.n), "--dim", str(args.dim), "--k", str(args.k),
           "--queries", str(args.queries), "--seed", str(args.seed), "--json"]
    print("running:", " ".join(cmd), file=sys.stderr)
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"quiver-bench failed (exit {run.returncode}):\n{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def faiss_figures(args):
    rng = np.random.default_rng(args.seed)
    index = faiss.IndexFlatIP(args.dim)
    index.add(unit_vectors(rng, args.n, args.dim))
    qs = unit_vectors(rng, max(args.queries, max(BATCHES)), args.dim)
    out = {"faiss_threads": faiss.omp_get_max_threads()}

    index.search(qs[:1], args.k)  # warm-up
    lat = []
    for q in qs[:args.queries]:
        t = time.perf_counter()
        index.search(q[None, :], args.k)
        lat.append(time.perf_counter() - t)
    lat.sort()
    out["faiss_single_p50_ms"] = lat[len(lat) // 2] * 1000
    out["faiss_single_p99_ms"] = lat[min(len(lat) - 1, len(lat) * 99 // 100)] * 1000

    for b in BATCHES:
        batch = np.ascontiguousarray(qs[:b])
        reps, best, start = 0, float("inf"), time.perf_counter()
        while reps < 3 or (time.perf_counter() - start < 2 and reps < 50):
            t = time.perf_counter()
            index.search(batch, args.k)
            best = min(best, time.perf_counter() - t)
            reps += 1
        out[f"faiss_batch{b}_qps"] = b / best
    return out


def ratio(a, b):
    return a / b if a and b else None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quiver-bin", help="default: <repo>/.build/release/quiver-bench")
    p.add_argument("--quiver-json", help="read Quiver's figures from this file instead of running it")
    p.add_argument("--json", action="store_true", help="print one flat JSON object")
    args = p.parse_args()

    load = float(Path("/proc/loadavg").read_text().split()[0])
    quiver = quiver_figures(args)  # Quiver first, so the two never overlap
    for key, want in (("n", args.n), ("dim", args.dim)):
        if key in quiver and quiver[key] != want:
            print(f"warning: Quiver figures are for {key}={quiver[key]}, faiss runs {key}={want}",
                  file=sys.stderr)
    fx = faiss_figures(args)

    out = {"n": args.n, "dim": args.dim, "k": args.k, "load_1min": load,
           "faiss_threads": fx.pop("faiss_threads"), **fx}
    # Every Quiver figure of the same run, prefixed, so one object holds the whole comparison.
    for key, value in quiver.items():
        if key not in ("n", "dim"):
            out[f"quiver_{key}"] = value
    for b in BATCHES:
        out.setdefault(f"quiver_batch{b}_qps", None)
    out.setdefault("quiver_single_p50_ms", None)
    out["single_vs_faiss"] = ratio(fx["faiss_single_p50_ms"], out["quiver_single_p50_ms"])
    for b in BATCHES:
        out[f"batch{b}_vs_faiss"] = ratio(out[f"quiver_batch{b}_qps"], fx[f"faiss_batch{b}_qps"])
    ratios = [out[f"batch{b}_vs_faiss"] for b in BATCHES if out[f"batch{b}_vs_faiss"] is not None]
    out["batch_vs_faiss_min"] = min(ratios) if ratios else None

    rounded = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}
    if args.json:
        print(json.dumps(rounded))
    else:
        width = max(map(len, out))
        for key, v in rounded.items():
            print(f"{key:<{width}}  {'n/a' if v is None else f'{v:.4g}' if isinstance(v, float) else v}")


if __name__ == "__main__":
    main()
