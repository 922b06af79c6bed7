#!/usr/bin/env python3
"""The loopback server's OpenAI embedding and chat endpoints on asyncio, in several processes, for
benchmarks that measure a client against a server's latency. Standard library only.

    python3 tools/testserver/async_server.py [--port 0] [--latency-ms 0] [--chat-latency-ms N]
                                             [--dimension 8] [--max-inputs N] [--fast-vectors]
                                             [--workers 2] [--exit-with-parent]

Prints "PORT <n>" on its first line of stdout, then serves on 127.0.0.1 until killed (its workers
exit when the first process is gone).

Why it exists: `embedding_server.py` runs a thread per connection in one interpreter. Traced in
`quiver-bench parallelrag`, it read 100 concurrent chat requests one after another, about 0.55 ms
apart (header parsing, thread switches, the GIL), so the last arrived 57 ms after the first and
answered 57 ms late; and it computed 16 concurrent 64-text embedding batches one after another
(about 3 ms each). A bare client saw that spread as much as the library did. Here each worker is
one event loop (no thread switches), the workers share the port (SO_REUSEPORT: the kernel spreads
connections over them), and a request's answer is built while its latency runs, so a server on
spare cores answers each request its latency after it arrived.

Endpoints: POST /v1/embeddings (OpenAI: "input", "dimensions", "encoding_format" float|base64),
POST /v1/chat/completions (whole answers only, no streaming, no tools), GET /stats (this worker's
counters). The vectors and answers are embedding_server.py's: the same client sees the same data
from either server. There is no /control and no fault injection: the settings come from the
command line, and the counters are per worker.
"""
import argparse
import asyncio
import base64
import json
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import embedding_server as reference  # noqa: E402

STATS = {"requests": 0, "in_flight": 0, "max_in_flight": 0, "connections": 0, "inputs": 0}
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found"}


def response(status, body):
    head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def error(status, message):
    return response(status, json.dumps({"error": {"message": message}}).encode())


def embeddings(args, request):
    texts = request.get("input", [])
    if isinstance(texts, str):
        texts = [texts]
    if args.max_inputs and len(texts) > args.max_inputs:
        return error(400, f"too many inputs: {len(texts)} > {args.max_inputs}"), 0
    dim = int(request.get("dimensions") or args.dimension)
    base64_wanted = request.get("encoding_format") == "base64"
    if args.fast_vectors and base64_wanted:
        encoded = [base64.b64encode(reference.fast_vector_bytes(t, dim)).decode() for t in texts]
    elif args.fast_vectors:
        encoded = [list(struct.unpack(f"<{dim}f", reference.fast_vector_bytes(t, dim))) for t in texts]
    elif base64_wanted:
        encoded = [base64.b64encode(struct.pack(f"<{dim}f", *reference.vector(t, dim))).decode() for t in texts]
    else:
        encoded = [reference.vector(t, dim) for t in texts]
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(encoded)]
    body = {"object": "list", "data": data, "model": request.get("model", ""),
            "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)}}
    return response(200, json.dumps(body).encode()), len(texts)


def chat(request):
    messages = request.get("messages") or []
    if not messages or not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages):
        return error(400, "messages must be a non-empty list of {role, content}")
    if request.get("stream") or request.get("tools"):
        return error(400, "this server answers whole, tool-less chat requests only (see embedding_server.py)")
    text, words, finish, prompt_tokens = reference.Handler.answer(request, messages, None, False)
    body = reference.Handler.chat_reply_body(False, request.get("model", ""), text, words, finish, prompt_tokens)
    return response(200, json.dumps(body).encode())


async def serve(args, reader, writer):
    loop = asyncio.get_running_loop()
    STATS["connections"] += 1
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            # Latency counts from the request line's arrival, as in embedding_server.py.
            arrived = loop.time()
            headers = {}
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                name, _, value = h.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            body = await reader.readexactly(length) if length else b""
            parts = line.decode("latin-1").split()
            method, path = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
            latency = 0
            STATS["requests"] += 1
            STATS["in_flight"] += 1
            STATS["max_in_flight"] = max(STATS["max_in_flight"], STATS["in_flight"])
            try:
                if method == "GET" and path == "/stats":
                    out = response(200, json.dumps(STATS).encode())
                elif method == "POST" and path in ("/v1/embeddings", "/v1/chat/completions"):
                    try:
                        request = json.loads(body or b"{}")
                    except ValueError:
                        request = None
                    if not isinstance(request, dict):
                        out = error(400, "body is not a JSON object")
                    elif path == "/v1/embeddings":
                        latency = args.latency_ms
                        out, inputs = embeddings(args, request)
                        STATS["inputs"] += inputs
                    else:
                        latency = args.latency_ms if args.chat_latency_ms is None else args.chat_latency_ms
                        out = chat(request)
                else:
                    out = error(404, f"no route {method} {path}")
                remaining = arrived + latency / 1000 - loop.time()
                if remaining > 0:
                    await asyncio.sleep(remaining)
                writer.write(out)
                await writer.drain()
            finally:
                STATS["in_flight"] -= 1
            if headers.get("connection", "").lower() == "close":
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def worker(args, sock, parent):
    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    if parent is not None:
        threading.Thread(target=watch_parent, daemon=True).start()

    async def main():
        server = await asyncio.start_server(lambda r, w: serve(args, r, w), sock=sock, backlog=1024)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


def listener(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--chat-latency-ms", type=int, help="chat answers wait this long instead of --latency-ms")
    p.add_argument("--dimension", type=int, default=8)
    p.add_argument("--max-inputs", type=int, default=0)
    p.add_argument("--fast-vectors", action="store_true", help="embedding_server.py's --fast-vectors recipe")
    p.add_argument("--workers", type=int, default=2, help="processes sharing the port (default 2)")
    p.add_argument("--exit-with-parent", action="store_true",
                   help="exit when the process that started this one has ended (as embedding_server.py)")
    args = p.parse_args()
    if args.exit_with_parent:
        starter = os.getppid()

        def watch_starter():
            while os.getppid() == starter:
                time.sleep(0.5)
            os._exit(0)

        threading.Thread(target=watch_starter, daemon=True).start()
    first = listener(args.port)
    port = first.getsockname()[1]
    # Every worker has its own socket on the port (SO_REUSEPORT): the kernel spreads new
    # connections over them evenly, where one shared socket wakes whichever loop is idle.
    sockets = [first] + [listener(port) for _ in range(max(1, args.workers) - 1)]
    print(f"PORT {port}", flush=True)
    me = os.getpid()
    for sock in sockets[1:]:
        if os.fork() == 0:
            for other in sockets:
                if other is not sock:
                    other.close()
            worker(args, sock, me)
            os._exit(0)
        sock.close()
    worker(args, first, None)


if __name__ == "__main__":
    sys.exit(main())
