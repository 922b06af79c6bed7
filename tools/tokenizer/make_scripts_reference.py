#!/usr/bin/env python3
"""Writes reference embeddings of sentences in non-Latin scripts.

The shared reference (../shared/minilm-reference, made with sentence-transformers) holds
no Hindi, Bengali or Tamil sentence. This tool embeds a few with an independent numpy
forward pass of all-MiniLM-L6-v2 (model.safetensors from scripts/setup.sh, ids from the
pinned Hugging Face tokenizer), after checking that the same pass reproduces the shared
reference's 22 embeddings to 1e-5. The Swift test LocalModelTests then requires the local
model's vectors of these sentences to match.

    /tmp/tokvenv/bin/pip install tokenizers==0.23.3 numpy
    /tmp/tokvenv/bin/python tools/tokenizer/make_scripts_reference.py
"""

import argparse
import json
import os
import struct

import numpy as np

from make_fixture import DEFAULT_VOCAB, TOKENIZERS_VERSION, reference_tokenizer

SENTENCES = [
    ("hindi", "भारत एक विशाल देश है और इसकी संस्कृति बहुत पुरानी है।"),
    ("hindi", "मुझे हिन्दी में किताबें पढ़ना पसंद है, विशेषकर विज्ञान और इतिहास की।"),
    ("bengali", "আমি বাংলায় গান গাই, আমার সোনার বাংলা আমি তোমায় ভালোবাসি।"),
    ("tamil", "தமிழ் மொழி உலகின் மிகப் பழமையான மொழிகளில் ஒன்றாகும்."),
    ("thai", "ภาษาไทยเป็นภาษาราชการของประเทศไทย"),
    ("arabic", "اَللُّغَةُ الْعَرَبِيَّةُ جَمِيلَةٌ جِدًّا."),
    ("korean", "안녕하세요, 한국어를 배우고 있습니다."),
    ("vietnamese", "Tiếng Việt là ngôn ngữ chính thức của Việt Nam."),
]


def load_weights(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"]).astype(np.float64)
    return out


def layer_norm(x, w, b, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x):
    from math import erf

    return 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2)))


def embed(w, ids):
    """BertModel (6 layers, 12 heads, 384 wide), mean pooling, L2 normalisation."""
    n = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    heads, size = 12, 32
    for layer in range(6):
        p = f"encoder.layer.{layer}."

        def dense(v, name):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = dense(x, "attention.self.query").reshape(n, heads, size).transpose(1, 0, 2)
        k = dense(x, "attention.self.key").reshape(n, heads, size).transpose(1, 0, 2)
        v = dense(x, "attention.self.value").reshape(n, heads, size).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, heads * size)
        x = layer_norm(dense(context, "attention.output.dense") + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        h = gelu(dense(x, "intermediate.dense"))
        x = layer_norm(dense(h, "output.dense") + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(here, "..", "..")
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab", default=DEFAULT_VOCAB)
    parser.add_argument("--reference", default=os.path.join(root, "..", "shared", "minilm-reference"))
    parser.add_argument("--out", default=os.path.join(root, "Tests", "IngestTests", "Fixtures", "wordpiece", "scripts_reference.json"))
    args = parser.parse_args()
    tok = reference_tokenizer(args.vocab)
    weights = load_weights(os.path.join(os.path.dirname(args.vocab), "model.safetensors"))

    # Self-check against the real model's outputs.
    with open(os.path.join(args.reference, "token_ids.json")) as f:
        rows = json.load(f)["rows"]
    with open(os.path.join(args.reference, "embeddings.json")) as f:
        expected = np.array(json.load(f)["embeddings"])
    worst = 0.0
    for row, e in zip(rows, expected):
        worst = max(worst, float(np.abs(embed(weights, row["ids"]) - e).max()))
    if worst > 1e-5:
        raise SystemExit(f"the numpy pass differs from the reference by {worst}: not writing")

    out = []
    for kind, s in SENTENCES:
        ids = tok.encode(s).ids
        out.append({"kind": kind, "sentence": s, "ids": ids, "embedding": [round(float(v), 8) for v in embed(weights, ids)]})
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(
            {
                "generator": "tools/tokenizer/make_scripts_reference.py",
                "tokenizers": TOKENIZERS_VERSION,
                "check_max_abs_diff_vs_shared_reference": worst,
                "rows": out,
            },
            f,
            ensure_ascii=False,
        )
        f.write("\n")
    print(f"make_scripts_reference: {len(out)} sentences, self-check max abs diff {worst:.2e} -> {args.out}")


if __name__ == "__main__":
    main()
