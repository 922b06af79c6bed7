"""bm25s over a BEIR folder: the keyword reference for `quiver-bench retrieval`.

Indexes title + " " + text of every document (lowercase, English stopwords, Snowball
English stemming via PyStemmer; BM25 "lucene", k1 0.9, b 0.4 by default), retrieves the
top 100 documents of every query, and prints one JSON object:
{"bm25s_ndcg10", "bm25s_recall100", "bm25s_qps", "bm25s_seconds", "queries", "documents",
"bm25s_version"}. Metrics as BEIR computes them: nDCG@10 with binary gains (IDCG from the
judged relevant documents, at most 10) and Recall@100, averaged over every query of the
qrels (a query that retrieves nothing counts 0).

bm25s_qps: queries per second on one thread (n_threads=1), the best run of at least five
and two seconds; each run times the query tokenization (lowercase, stopwords, stemming)
and the top-100 retrieval of all queries in one `retrieve` call; not the indexing, not
the metrics.

Usage: python3 tools/bench/bm25s_reference.py BEIR_DIR [--split train] [--k1 0.9] [--b 0.4] [--no-stem]
(python3 -m pip install bm25s==0.2.14 PyStemmer)
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

try:
    import bm25s
    import Stemmer
except ImportError as error:
    sys.exit(
        f"bm25s_reference.py: {error.name} is not installed; install the reference with\n"
        "    python3 -m pip install bm25s==0.2.14 PyStemmer"
    )


def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                sys.exit(f"bm25s_reference.py: {path}:{number}: not JSON ({error.msg})")
    return rows


def qrels_file(folder, split):
    files = sorted((folder / "qrels").glob("*.tsv"))
    if not files:
        sys.exit(f"bm25s_reference.py: no qrels/*.tsv in {folder}")
    named = [f for f in files if f.stem == split]
    if named:
        return named[0]
    if len(files) == 1:
        return files[0]
    sys.exit(f"bm25s_reference.py: no qrels/{split}.tsv in {folder}, and several others: pass --split")


def read_qrels(path):
    relevant = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if number == 1 or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3 or not fields[2].strip().lstrip("-").isdigit():
                sys.exit(f"bm25s_reference.py: {path}:{number}: expected query-id<TAB>corpus-id<TAB>integer score")
            if int(fields[2]) > 0:
                relevant.setdefault(fields[0], set()).add(fields[1])
            else:
                relevant.setdefault(fields[0], set())
    return relevant


def metrics(ranked, relevant):
    """Mean nDCG@10 and Recall@100 over the queries of the qrels."""
    ndcg, recall = 0.0, 0.0
    judged = [q for q, docs in relevant.items() if docs]
    for q in judged:
        docs = relevant[q]
        ranking = ranked.get(q, [])
        dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranking[:10]) if d in docs)
        idcg = sum(1 / math.log2(i + 2) for i in range(min(len(docs), 10)))
        ndcg += dcg / idcg
        recall += len(docs & set(ranking[:100])) / len(docs)
    return ndcg / len(judged), recall / len(judged)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("beir")
    parser.add_argument("--split", default="train")
    parser.add_argument("--k1", type=float, default=0.9)
    parser.add_argument("--b", type=float, default=0.4)
    parser.add_argument("--no-stem", action="store_true")
    args = parser.parse_args()
    folder = Path(args.beir)
    corpus = read_jsonl(folder / "corpus.jsonl")
    queries = read_jsonl(folder / "queries.jsonl")
    relevant = read_qrels(qrels_file(folder, args.split))
    queries = [q for q in queries if q["_id"] in relevant]
    ids = [d["_id"] for d in corpus]
    stemmer = None if args.no_stem else Stemmer.Stemmer("english")

    tokens = bm25s.tokenize(
        [d.get("title", "") + " " + d.get("text", "") for d in corpus], stopwords="en", stemmer=stemmer, show_progress=False
    )
    retriever = bm25s.BM25(method="lucene", k1=args.k1, b=args.b)
    retriever.index(tokens, show_progress=False)
    k = min(100, len(corpus))

    texts = [q["text"] for q in queries]
    best, runs, start = math.inf, 0, time.perf_counter()
    while runs < 5 or time.perf_counter() - start < 2:
        t0 = time.perf_counter()
        query_tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)
        results, _ = retriever.retrieve(query_tokens, k=k, n_threads=1, show_progress=False)
        best = min(best, time.perf_counter() - t0)
        runs += 1
    ranked = {q["_id"]: [ids[i] for i in row] for q, row in zip(queries, results)}
    ndcg, recall = metrics(ranked, relevant)
    print(
        json.dumps(
            {
                "bm25s_ndcg10": ndcg,
                "bm25s_recall100": recall,
                "bm25s_qps": len(texts) / best,
                "bm25s_seconds": best,
                "queries": len(queries),
                "documents": len(corpus),
                "bm25s_version": bm25s.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
