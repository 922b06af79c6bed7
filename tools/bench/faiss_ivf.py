"""faiss-cpu IndexIVFFlat next to Quiver's IVF index, for `quiver-bench tiers`.

Reads the base vectors and queries as float32 .npy files (the bench writes the vectors
its own collection holds), L2-normalizes them (the bench's collections are cosine),
takes the exact top k with IndexFlatIP, trains IndexIVFFlat (inner product, --lists
lists, faiss's default k-means) and for nprobe 1, 2, 4, ... up to 128 reports recall@k
against the exact top k and the p50 latency of single-query searches: the first --timed
queries, one at a time, after the recall pass, --passes times; the smallest pass p50 is
reported (Quiver's sweep is timed the same way). faiss keeps its default OpenMP threads.

Prints a JSON list of {"nprobe", "recall", "p50"} (p50 in seconds).
Usage: python3 tools/bench/faiss_ivf.py --base B.npy --queries Q.npy --lists L [--k 10] [--timed 200] [--passes 1]
"""
import argparse
import json
import time

import faiss
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--lists", type=int, required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--timed", type=int, default=200)
    ap.add_argument("--passes", type=int, default=1)
    a = ap.parse_args()
    xb = np.array(np.load(a.base), dtype=np.float32, order="C")
    xq = np.array(np.load(a.queries), dtype=np.float32, order="C")
    faiss.normalize_L2(xb)
    faiss.normalize_L2(xq)
    d = xb.shape[1]
    flat = faiss.IndexFlatIP(d)
    flat.add(xb)
    _, truth = flat.search(xq, a.k)
    del flat
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(quantizer, d, a.lists, faiss.METRIC_INNER_PRODUCT)
    index.train(xb)
    index.add(xb)
    out = []
    p = 1
    while p <= min(128, a.lists):
        index.nprobe = p
        _, found = index.search(xq, a.k)
        hit = sum(len(set(f) & set(t)) for f, t in zip(found.tolist(), truth.tolist()))
        recall = hit / float(truth.size)
        best = float("inf")
        for _ in range(a.passes):
            times = []
            for q in xq[: a.timed]:
                t = time.perf_counter()
                index.search(q.reshape(1, -1), a.k)
                times.append(time.perf_counter() - t)
            times.sort()
            best = min(best, times[len(times) // 2])
        out.append({"nprobe": p, "recall": recall, "p50": best})
        p *= 2
    print(json.dumps(out))


if __name__ == "__main__":
    main()
