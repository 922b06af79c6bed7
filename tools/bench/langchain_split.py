"""LangChain's RecursiveCharacterTextSplitter (1000 characters, 200 overlap) over the .md and
.txt files of a folder, on one thread: the reference for `quiver-bench split`. Prints
{"langchain_mb_per_s": ..., "langchain_chunks": ...}; best of three runs.

Usage: python3 tools/bench/langchain_split.py FOLDER   (pip install langchain-text-splitters)
"""
import json
import sys
import time
from pathlib import Path

from langchain_text_splitters import RecursiveCharacterTextSplitter


def main():
    folder = Path(sys.argv[1])
    texts = [p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*")) if p.suffix in (".md", ".txt")]
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    best, chunks = float("inf"), 0
    for _ in range(3):
        t0 = time.perf_counter()
        chunks = sum(len(splitter.split_text(t)) for t in texts)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"langchain_mb_per_s": megabytes / best, "langchain_chunks": chunks}))


if __name__ == "__main__":
    main()
