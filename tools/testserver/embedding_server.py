#!/usr/bin/env python3
"""A loopback HTTP server speaking the OpenAI and Ollama embedding and chat APIs, for Quiver's tests
and benchmarks, and for trying Quiver without a real provider. Standard library only.

    python3 tools/testserver/embedding_server.py [--port 0] [--latency-ms 0] [--dimension 8]
                                                 [--api-key KEY] [--max-inputs N] [--chat-latency-ms N]
                                                 [--fast-vectors]

Prints "PORT <n>" on its first line of stdout, then serves on 127.0.0.1 until killed.

Endpoints
  POST /v1/embeddings                          OpenAI (also /openai/deployments/<name>/embeddings)
  POST /api/embed                              Ollama
  POST /v1/chat/completions                    OpenAI chat (JSON, or server-sent events with "stream": true)
  POST /api/chat                               Ollama chat (JSON, or one JSON object per line)
  GET  /last_chat                              the body of the last chat request
  GET  /last_request                           {"path", "query"} of the last POST to any other route
  GET  /stats                                  {"requests", "in_flight", "max_in_flight", "connections", "inputs"}
  POST /control                                change behaviour (JSON, keys below); replies with the new settings
  POST /reset                                  counters and queued faults back to zero
  GET  /lines?n=10&delay_ms=0&truncate=0       chunked text, one line per chunk
  GET  /sse?n=5&delay_ms=0&truncate=0          server-sent events, then "data: [DONE]"

Control keys
  latency_ms          every answer is sent this long after its request line arrived
  dimension           vector size when the request does not say ("dimensions")
  max_inputs          answer 400 "too many inputs" above this many texts (0: no limit)
  shuffle             answer OpenAI data in reverse index order
  faults              a list of faults, each consumed by one request, in order:
                      {"status": 429, "retry_after": "1"} | {"status": 500} | {"malformed": true}
                      | {"wrong_count": true} | {"wrong_dimension": true} | {"drop": true}
                      | {"slow_body_ms": 500} | {"hold": true} (no answer until "release")
                      chat only: {"malformed": true} (a bad JSON body, or a bad stream event)
                      | {"truncate": true} (the stream stops half-way) | {"error_event": true}
  chat_reply          the answer text; by default "You asked: <question>. See [1]." where the
                      question is the "Question:" line of the last user message (or all of it)
  stream_delay_ms     pause between streamed pieces
  chat_latency_ms     chat answers wait this long instead of latency_ms (null: latency_ms)
  tool_plan           tool calls to make when a chat request offers "tools": a list of rounds,
                      each a list of {"name": ..., "arguments": <JSON text, or an object>}; the
                      request's round is the number of assistant messages with tool_calls it
                      carries. "{question}" in arguments becomes the question. Once the rounds
                      are used up the model answers chat_reply, or "Tools said: <each tool
                      result, in order, joined with ' | '>. See [1]."
  tool_plan_forever   repeat the last round for ever (a model that never answers)
  release             true: requests held by a "hold" fault are answered now (held ones
                      answer by themselves after 600 s)
  barrier             N: an embedding request is answered only once N requests are in
                      flight together (or barrier_timeout_ms, 10,000, has passed), so
                      max_in_flight says what a client keeps in flight however slowly it
                      is scheduled; 0 (the default): no barrier
  fast_vectors        vectors from --fast-vectors' recipe (below) instead of the default one
Streamed tool calls (OpenAI) come as deltas: each call's id and name, then its arguments in
three fragments per call, the calls' fragments interleaved; Ollama sends each call whole.
Chat answers stream word by word; "max_tokens" (OpenAI) / "num_predict" (Ollama) cut the
answer to that many words with finish reason "length".
Embeddings are deterministic: each component is derived from a hash of the text. The default
recipe costs this (single) interpreter about 0.7 ms per 384-dimensional text, which a benchmark
sending thousands of texts at once would measure instead of the client. --fast-vectors derives
each component's sign and mantissa from SHAKE-256 of the text in a few big-integer operations
(components in ±[0.5, 1), about 10 µs per text): a different, equally deterministic set of vectors.
"""
import argparse
import base64
import hashlib
import re
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"latency_ms": 0, "dimension": 8, "max_inputs": 0, "shuffle": False, "faults": [], "api_key": None,
         "chat_reply": None, "stream_delay_ms": 0, "last_chat": None, "last_request": None,
         "chat_latency_ms": None, "tool_plan": None, "tool_plan_forever": False,
         "fast_vectors": False, "barrier": 0, "barrier_timeout_ms": 10000}
RELEASED = threading.Event()  # set by {"release": true}: held requests answer
GATHERED = threading.Condition()  # embedding requests waiting at the barrier
STATS = {"requests": 0, "in_flight": 0, "max_in_flight": 0, "connections": 0, "inputs": 0}


def vector(text, dim):
    out, counter = [], 0
    while len(out) < dim:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        out.extend(v / 2**31 - 1 for v in struct.unpack("<8I", digest))
        counter += 1
    return [round(x, 6) for x in out[:dim]]


FAST_MASKS = {}


def fast_vector_bytes(text, dim):
    """`dim` little-endian float32s from SHAKE-256 of `text`: each keeps the hash's sign bit and
    23 mantissa bits, with the exponent of 0.5, so it lies in ±[0.5, 1)."""
    masks = FAST_MASKS.get(dim)
    if masks is None:
        keep = int.from_bytes(struct.pack("<I", 0x807FFFFF) * dim, "little")
        exponent = int.from_bytes(struct.pack("<I", 0x3F000000) * dim, "little")
        masks = FAST_MASKS.setdefault(dim, (keep, exponent))
    bits = int.from_bytes(hashlib.shake_256(text.encode()).digest(4 * dim), "little")
    return ((bits & masks[0]) | masks[1]).to_bytes(4 * dim, "little")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def parse_request(self):
        # The request line has arrived: latency counts from here, so the time this
        # (single-interpreter) server spends parsing many concurrent requests is not added
        # on top of it.
        self.arrived = time.monotonic()
        return super().parse_request()

    def wait_latency(self, latency_ms):
        remaining = latency_ms / 1000 - (time.monotonic() - getattr(self, "arrived", time.monotonic()))
        if remaining > 0:
            time.sleep(remaining)

    def reply(self, status, obj=None, raw=None, headers=(), slow_ms=0):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if slow_ms:
            half = len(body) // 2
            self.wfile.write(body[:half])
            self.wfile.flush()
            time.sleep(slow_ms / 1000)
            self.wfile.write(body[half:])
        else:
            self.wfile.write(body)

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        return json.loads(data or b"{}")

    def stream(self, pieces, delay_ms, content_type, truncate=False):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for piece in pieces:
            data = piece.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
            if delay_ms:
                time.sleep(delay_ms / 1000)
        if truncate:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self):
        path, _, query = self.path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path == "/lines":
            n, delay = int(params.get("n", 10)), int(params.get("delay_ms", 0))
            self.stream([f"line {i} ünïcode\n" for i in range(n)], delay, "text/plain", params.get("truncate") == "1")
            return
        if path == "/sse":
            n, delay = int(params.get("n", 5)), int(params.get("delay_ms", 0))
            events = [": keep-alive\n\n"] + [f"data: {{\"i\": {i}}}\n\n" for i in range(n)] + ["data: [DONE]\n\n"]
            self.stream(events, delay, "text/event-stream", params.get("truncate") == "1")
            return
        if path == "/last_request":
            with LOCK:
                self.reply(200, STATE["last_request"] or {})
            return
        if self.path == "/last_chat":
            with LOCK:
                self.reply(200, STATE["last_chat"] or {})
            return
        if self.path == "/stats":
            with LOCK:
                self.reply(200, dict(STATS))
        else:
            self.reply(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self):
        if self.path == "/control":
            changes = self.read_json()
            if changes.pop("release", False):
                RELEASED.set()
            if any(isinstance(f, dict) and f.get("hold") for f in changes.get("faults", [])):
                RELEASED.clear()
            with LOCK:
                STATE.update(changes)
                self.reply(200, {k: v for k, v in STATE.items() if k != "api_key"})
            return
        if self.path == "/reset":
            self.read_json()
            with LOCK:
                STATE["faults"] = []
                for k in STATS:
                    STATS[k] = 0
            self.reply(200, {})
            return
        path, _, query = self.path.partition("?")
        with LOCK:
            STATE["last_request"] = {"path": path, "query": query}
        openai = path == "/v1/embeddings" or (path.startswith("/openai/deployments/") and path.endswith("/embeddings"))
        ollama = path == "/api/embed"
        chat = path in ("/v1/chat/completions", "/api/chat")
        if not (openai or ollama or chat):
            self.read_json()
            self.reply(404, {"error": {"message": f"no route {self.path}"}})
            return
        with LOCK:
            STATS["requests"] += 1
            STATS["in_flight"] += 1
            STATS["max_in_flight"] = max(STATS["max_in_flight"], STATS["in_flight"])
            fault = STATE["faults"].pop(0) if STATE["faults"] else {}
            latency, dim_default, max_inputs, shuffle = STATE["latency_ms"], STATE["dimension"], STATE["max_inputs"], STATE["shuffle"]
            key = STATE["api_key"]
        try:
            if chat:
                with LOCK:
                    if STATE["chat_latency_ms"] is not None:
                        latency = STATE["chat_latency_ms"]
                self.serve_chat(path == "/api/chat", fault, latency, key)
            else:
                self.serve_embeddings(openai, fault, latency, dim_default, max_inputs, shuffle, key)
        finally:
            with LOCK:
                STATS["in_flight"] -= 1

    def refused(self, fault, latency, key):
        """Waits out the latency, then answers a wrong key or an injected drop or status
        instead of the request; True if it did."""
        if latency:
            self.wait_latency(latency)
        if fault.get("hold"):
            RELEASED.wait(timeout=600)
        if key and self.headers.get("Authorization") != f"Bearer {key}" and self.headers.get("api-key") != key:
            self.reply(401, {"error": {"message": "invalid API key"}})
            return True
        if fault.get("drop"):
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if "status" in fault:
            headers = [("Retry-After", str(fault["retry_after"]))] if "retry_after" in fault else []
            self.reply(fault["status"], {"error": {"message": f"injected {fault['status']}"}}, headers=headers)
            return True
        return False

    def serve_embeddings(self, openai, fault, latency, dim_default, max_inputs, shuffle, key):
        try:
            request = self.read_json()
        except ValueError:
            self.reply(400, {"error": {"message": "body is not JSON"}})
            return
        texts = request.get("input", [])
        if isinstance(texts, str):
            texts = [texts]
        dim = int(request.get("dimensions") or dim_default)
        # Computed while the latency runs (it counts from the request's arrival), so a big
        # batch costs max(latency, compute), not their sum, as from a server that works
        # while the network delays its answer.
        fast = STATE["fast_vectors"]
        base64_wanted = openai and request.get("encoding_format") == "base64"
        if max_inputs and len(texts) > max_inputs:
            vectors = []
        elif fast and base64_wanted:
            vectors = [fast_vector_bytes(t, dim) for t in texts]
        elif fast:
            vectors = [list(struct.unpack(f"<{dim}f", fast_vector_bytes(t, dim))) for t in texts]
        else:
            vectors = [vector(t, dim) for t in texts]
        # The body too is built while the latency runs: after it, the many requests of a
        # batch that all wake together only write their answers.
        body = None
        if not (max_inputs and len(texts) > max_inputs) and not fault.get("malformed"):
            if fault.get("wrong_count"):
                vectors = vectors[:-1]
            if fault.get("wrong_dimension") and vectors:
                vectors[0] = vectors[0][:-4] if isinstance(vectors[0], bytes) else vectors[0][:-1]
            if openai:
                if base64_wanted and fast:
                    encoded = [base64.b64encode(v).decode() for v in vectors]
                elif base64_wanted:
                    encoded = [base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() for v in vectors]
                else:
                    encoded = vectors
                data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(encoded)]
                if shuffle:
                    data.reverse()
                body = {"object": "list", "data": data, "model": request.get("model", ""),
                        "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)}}
            else:
                body = {"model": request.get("model", ""), "embeddings": vectors}
            body = json.dumps(body).encode()
        with LOCK:
            barrier, barrier_timeout = STATE["barrier"], STATE["barrier_timeout_ms"] / 1000
        if barrier:
            deadline = time.monotonic() + barrier_timeout
            with GATHERED:
                GATHERED.notify_all()
                while time.monotonic() < deadline:
                    with LOCK:
                        if STATS["max_in_flight"] >= barrier:
                            break
                    GATHERED.wait(timeout=0.05)
        if self.refused(fault, latency, key):
            return
        if fault.get("malformed"):
            self.reply(200, raw=b'{"data": [{"embedding": [0.1, 0.2,')
            return
        if max_inputs and len(texts) > max_inputs:
            self.reply(400, {"error": {"message": f"too many inputs: {len(texts)} > {max_inputs}"}})
            return
        with LOCK:
            STATS["inputs"] += len(texts)
        self.reply(200, raw=body, slow_ms=fault.get("slow_body_ms", 0))

    def serve_chat(self, ollama, fault, latency, key):
        try:
            request = self.read_json()
        except ValueError:
            self.reply(400, {"error": {"message": "body is not JSON"}})
            return
        with LOCK:
            STATE["last_chat"] = request
            reply_text, delay = STATE["chat_reply"], STATE["stream_delay_ms"]
            plan, forever = STATE["tool_plan"], STATE["tool_plan_forever"]
        messages = request.get("messages") or []
        valid = bool(messages) and all(isinstance(m, dict) and "role" in m and "content" in m for m in messages)
        # A plain answer is built while the latency runs: after it, the many requests that
        # all wake together only write their answers.
        body = None
        if valid and not request.get("stream") and not (plan and request.get("tools")) and not fault:
            text, words, finish, prompt_tokens = self.answer(request, messages, reply_text, ollama)
            body = json.dumps(self.chat_reply_body(ollama, request.get("model", ""), text, words, finish,
                                                   prompt_tokens)).encode()
        if self.refused(fault, latency, key):
            return
        if not valid:
            self.reply(400, {"error": {"message": "messages must be a non-empty list of {role, content}"}})
            return
        if body is not None:
            self.reply(200, raw=body)
            return
        question = self.question(messages)
        if plan and request.get("tools"):
            rounds = sum(1 for m in messages if m["role"] == "assistant" and m.get("tool_calls"))
            if rounds < len(plan) or forever:
                self.serve_tool_calls(ollama, request, plan[min(rounds, len(plan) - 1)], rounds, question, delay)
                return
            if reply_text is None:
                results = [m["content"] or "" for m in messages if m["role"] == "tool"]
                reply_text = f"Tools said: {' | '.join(results)}. See [1]."
        text, words, finish, prompt_tokens = self.answer(request, messages, reply_text, ollama)
        model = request.get("model", "")
        if not request.get("stream"):
            if fault.get("malformed"):
                self.reply(200, raw=b'{"choices": [{"message": {"content": "cut')
            else:
                self.reply(200, self.chat_reply_body(ollama, model, text, words, finish, prompt_tokens))
            return
        pieces = []
        if ollama:
            for w in words:
                pieces.append(json.dumps({"model": model, "message": {"role": "assistant", "content": w}, "done": False}) + "\n")
            final = json.dumps({"model": model, "message": {"role": "assistant", "content": ""}, "done": True,
                                "done_reason": finish, "prompt_eval_count": prompt_tokens, "eval_count": len(words)}) + "\n"
        else:
            def chunk(delta, reason=None):
                return "data: " + json.dumps({"id": "chat-1", "object": "chat.completion.chunk", "model": model,
                                              "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}) + "\n\n"
            pieces.append(chunk({"role": "assistant", "content": ""}))
            pieces.extend(chunk({"content": w}) for w in words)
            final = chunk({}, finish)
            if (request.get("stream_options") or {}).get("include_usage"):
                final += "data: " + json.dumps({"id": "chat-1", "object": "chat.completion.chunk", "choices": [],
                                                 "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
                                                           "total_tokens": prompt_tokens + len(words)}}) + "\n\n"
            final += "data: [DONE]\n\n"
        half = len(pieces) // 2
        if fault.get("malformed"):
            pieces.insert(half, "{not json\n" if ollama else "data: {not json\n\n")
        if fault.get("error_event"):
            pieces.insert(half, json.dumps({"error": "injected mid-stream error"}) + "\n" if ollama
                          else "data: " + json.dumps({"error": {"message": "injected mid-stream error"}}) + "\n\n")
        if fault.get("truncate"):
            self.stream(pieces[:half], delay, "application/x-ndjson" if ollama else "text/event-stream", truncate=True)
            return
        self.stream(pieces + [final], delay, "application/x-ndjson" if ollama else "text/event-stream")


    @staticmethod
    def question(messages):
        """The "Question:" line of the last user message, or all of it."""
        last = next((m["content"] or "" for m in reversed(messages) if m["role"] == "user"), "")
        lines = [l[len("Question:"):].strip() for l in last.splitlines() if l.startswith("Question:")]
        return lines[-1] if lines else last

    @staticmethod
    def answer(request, messages, reply_text, ollama):
        """The answer's text, its words, finish reason and the prompt's token count: `reply_text`,
        or "You asked: <question>. See [1].", cut to the request's token limit."""
        if reply_text is None:
            reply_text = f"You asked: {Handler.question(messages)}. See [1]."
        words = re.findall(r"\S+\s*", reply_text)
        limit = (request.get("options") or {}).get("num_predict") if ollama else request.get("max_tokens")
        finish = "stop"
        if limit is not None and len(words) > limit:
            words, finish = words[:limit], "length"
        prompt_tokens = sum(len((m["content"] or "").split()) for m in messages)
        return "".join(words), words, finish, prompt_tokens

    @staticmethod
    def chat_reply_body(ollama, model, text, words, finish, prompt_tokens):
        """The JSON object of a whole (not streamed) chat answer."""
        if ollama:
            return {"model": model, "message": {"role": "assistant", "content": text}, "done": True,
                    "done_reason": finish, "prompt_eval_count": prompt_tokens, "eval_count": len(words)}
        return {"id": "chat-1", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
                          "total_tokens": prompt_tokens + len(words)}}

    def serve_tool_calls(self, ollama, request, calls, rounds, question, delay):
        """Answers with the tool calls of one round of the plan, whole or streamed as deltas."""
        model = request.get("model", "")
        made = []
        for i, call in enumerate(calls):
            arguments = call.get("arguments", {})
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments)
            made.append({"id": f"call_{rounds}_{i}", "name": call["name"], "arguments": arguments.replace("{question}", question)})
        prompt_tokens = sum(len((m["content"] or "").split()) for m in request.get("messages"))
        completion_tokens = sum(len(c["arguments"].split()) + 1 for c in made)

        def ollama_args(text):
            try:
                return json.loads(text)
            except ValueError:
                return text  # a malformed reply: the arguments as the text they are

        if ollama:
            whole = [{"function": {"name": c["name"], "arguments": ollama_args(c["arguments"])}} for c in made]
            final = {"model": model, "done": True, "done_reason": "stop", "prompt_eval_count": prompt_tokens,
                     "eval_count": completion_tokens}
            if not request.get("stream"):
                final["message"] = {"role": "assistant", "content": "", "tool_calls": whole}
                self.reply(200, final)
                return
            pieces = [json.dumps({"model": model, "done": False,
                                  "message": {"role": "assistant", "content": "", "tool_calls": [w]}}) + "\n" for w in whole]
            final["message"] = {"role": "assistant", "content": ""}
            self.stream(pieces + [json.dumps(final) + "\n"], delay, "application/x-ndjson")
            return
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        if not request.get("stream"):
            message = {"role": "assistant", "content": None,
                       "tool_calls": [{"id": c["id"], "type": "function",
                                       "function": {"name": c["name"], "arguments": c["arguments"]}} for c in made]}
            self.reply(200, {"id": "chat-1", "object": "chat.completion", "model": model,
                             "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}], "usage": usage})
            return

        def chunk(delta, reason=None):
            return "data: " + json.dumps({"id": "chat-1", "object": "chat.completion.chunk", "model": model,
                                          "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}) + "\n\n"
        pieces = [chunk({"role": "assistant", "content": None})]
        for i, c in enumerate(made):
            pieces.append(chunk({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                                 "function": {"name": c["name"], "arguments": ""}}]}))
        for part in range(3):
            for i, c in enumerate(made):
                text = c["arguments"]
                third = (len(text) + 2) // 3
                fragment = text[part * third:(part + 1) * third]
                if fragment:
                    pieces.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": fragment}}]}))
        final = chunk({}, "tool_calls")
        if (request.get("stream_options") or {}).get("include_usage"):
            final += "data: " + json.dumps({"id": "chat-1", "object": "chat.completion.chunk", "choices": [],
                                             "usage": usage}) + "\n\n"
        self.stream(pieces + [final + "data: [DONE]\n\n"], delay, "text/event-stream")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def get_request(self):
        conn = super().get_request()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # the client's delayed ACK add 40 ms to every keep-alive response.
        conn[0].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with LOCK:
            STATS["connections"] += 1
        return conn


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--dimension", type=int, default=8)
    p.add_argument("--max-inputs", type=int, default=0)
    p.add_argument("--chat-latency-ms", type=int, help="chat answers wait this long instead of --latency-ms")
    p.add_argument("--api-key")
    p.add_argument("--fast-vectors", action="store_true",
                   help="cheap deterministic vectors (SHAKE-256 bits), so a benchmark measures the client, not this server")
    p.add_argument(
        "--exit-with-parent", action="store_true",
        help="exit when the process that started this one has ended (a crashed test run leaves no server behind)")
    args = p.parse_args()
    if args.exit_with_parent:
        parent = os.getppid()

        def watch_parent():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)

        threading.Thread(target=watch_parent, daemon=True).start()
    STATE.update(latency_ms=args.latency_ms, dimension=args.dimension, max_inputs=args.max_inputs, api_key=args.api_key,
                 chat_latency_ms=args.chat_latency_ms, fast_vectors=args.fast_vectors)
    server = Server(("127.0.0.1", args.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
