"""Compare Quiver's batch embedding with GraphBit's `EmbeddingClient.embed_batch_parallel`
against the same loopback server, in one run.

Quiver's figures come from `quiver-bench embed --json` (run first, as a subprocess). Then
this script starts the loopback embedding server with the same latency and points
GraphBit's Azure embedding configuration at it: GraphBit posts the OpenAI wire format to
`{endpoint}/openai/deployments/{name}/embeddings`, which the server answers. For each
concurrency and batch size, GraphBit embeds the same number of texts as Quiver did.

vs_graphbit_cN = Quiver's texts/s ÷ GraphBit's at concurrency N (the lower of the batch
sizes); above 1 means Quiver is faster. Needs `pip install graphbit`.

Usage: python3 tools/bench/graphbit_embed.py [--latency-ms 50] [--concurrency 16 64]
       [--batch 1 100] [--quiver-bin PATH] [--json]
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    p.add_argument("--batch", type=int, nargs="+", default=[1, 100])
    p.add_argument("--quiver-bin", default=str(REPO / ".build/release/quiver-bench"))
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    try:
        import graphbit
    except ImportError:
        sys.exit("graphbit is not installed: pip install graphbit")
    if not Path(args.quiver_bin).is_file():
        sys.exit(f"{args.quiver_bin} not found; run `swift build -c release` first")

    load = float(Path("/proc/loadavg").read_text().split()[0])
    cmd = [args.quiver_bin, "embed", "--json", "--latency-ms", str(args.latency_ms),
           "--concurrency", *map(str, args.concurrency), "--batch", *map(str, args.batch)]
    quiver = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    server = subprocess.Popen([sys.executable, str(REPO / "tools/testserver/embedding_server.py"), "--port", "0",
                               "--latency-ms", str(args.latency_ms)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().split()[1])
        base = f"http://127.0.0.1:{port}"
        config = graphbit.EmbeddingConfig.azure("bench-key", "bench", base, "bench", "2024-02-01")
        client = graphbit.EmbeddingClient(config)
        out = {"latency_ms": args.latency_ms, "load_1min": load}
        for c in args.concurrency:
            ratios = []
            for b in args.batch:
                key = f"c{c}_b{b}"
                n = int(quiver[f"{key}_texts"])
                texts = [f"short text number {i} for the benchmark" for i in range(n)]
                batches = [texts[i:i + b] for i in range(0, n, b)]
                t0 = time.perf_counter()
                result = client.embed_batch_parallel(batches, max_concurrency=c)
                seconds = time.perf_counter() - t0
                got = sum(len(x) for x in result["embeddings"])
                if got != n:
                    sys.exit(f"GraphBit returned {got} vectors for {n} texts at {key}: {result.get('stats')}")
                rate = n / seconds
                out[f"graphbit_{key}_texts_per_s"] = round(rate, 2)
                out[f"quiver_{key}_texts_per_s"] = quiver[f"{key}_texts_per_s"]
                out[f"{key}_vs_graphbit"] = round(quiver[f"{key}_texts_per_s"] / rate, 3)
                ratios.append(out[f"{key}_vs_graphbit"])
            out[f"vs_graphbit_c{c}"] = min(ratios)
    finally:
        server.kill()
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:<34} {v}")


if __name__ == "__main__":
    main()
