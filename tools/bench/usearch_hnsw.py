"""usearch's HNSW index next to Quiver's IVF index, for `quiver-bench tiers` (the issue's
second reference, beside faiss `IndexIVFFlat`).

Reads the base vectors and queries as float32 .npy files (the vectors the bench's own
collection holds), L2-normalizes them (the bench's collections are cosine), takes the exact
top k with numpy (blocked matrix products), builds a usearch `Index` (metric "cos", f32,
connectivity 16, expansion_add 128: usearch's defaults; every core for the build) and for
expansion_search 16, 32, ... up to 512 reports recall@k against the exact top k and the p50
latency of single-query searches: the first --timed queries, one at a time, on one thread,
after the recall pass, --passes times; the smallest pass p50 is reported (as for faiss and
Quiver's own sweep).

Prints a JSON object {"build_s", "rows": [{"ef", "recall", "p50"}]} (seconds).
Usage: python3 tools/bench/usearch_hnsw.py --base B.npy --queries Q.npy [--k 10] [--timed 200] [--passes 1]
"""
import argparse
import json
import time

import numpy as np
from usearch.index import Index


def normalized(x):
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1
    return (x / n).astype(np.float32)


def exact_top(xb, xq, k):
    best = None
    step = 65536
    for s in range(0, xb.shape[0], step):
        scores = xq @ xb[s : s + step].T
        part = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        cand = np.take_along_axis(scores, part, axis=1)
        ids = part + s
        if best is not None:
            cand = np.concatenate([best[0], cand], axis=1)
            ids = np.concatenate([best[1], ids], axis=1)
        order = np.argsort(-cand, axis=1)[:, :k]
        best = (np.take_along_axis(cand, order, axis=1), np.take_along_axis(ids, order, axis=1))
    return best[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--timed", type=int, default=200)
    ap.add_argument("--passes", type=int, default=1)
    a = ap.parse_args()
    xb = normalized(np.load(a.base, mmap_mode="r"))
    xq = normalized(np.load(a.queries))
    truth = exact_top(xb, xq, a.k)
    index = Index(ndim=xb.shape[1], metric="cos", dtype="f32", connectivity=16, expansion_add=128)
    t = time.perf_counter()
    index.add(np.arange(xb.shape[0], dtype=np.uint64), xb, threads=0)
    build = time.perf_counter() - t
    del xb
    rows = []
    for ef in (16, 32, 64, 128, 256, 512):
        index.expansion_search = ef
        found = index.search(xq, a.k, threads=0).keys
        hit = sum(len(set(f) & set(t)) for f, t in zip(found.tolist(), truth.tolist()))
        recall = hit / float(truth.size)
        best = float("inf")
        for _ in range(a.passes):
            times = []
            for q in xq[: a.timed]:
                t = time.perf_counter()
                index.search(q, a.k, threads=1)
                times.append(time.perf_counter() - t)
            times.sort()
            best = min(best, times[len(times) // 2])
        rows.append({"ef": ef, "recall": recall, "p50": best})
        if recall >= 0.99:
            break
    print(json.dumps({"build_s": build, "rows": rows}))


if __name__ == "__main__":
    main()
