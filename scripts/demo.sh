#!/usr/bin/env bash
# The README's first command: installs what is missing (the local model included), builds
# in release mode, indexes the sample corpus in data/ with the local all-MiniLM-L6-v2
# embedder (the hashing embedder, with a notice, if the model could not be fetched), and
# answers four questions with their sources, offline (extractive answers: no LLM); the
# last is answered from a PDF, cited with its page.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --model-optional
swift build -c release --product quiver
quiver=.build/release/quiver
store="${QUIVER_STORE:-.quiver}"
# The local model when it is installed, else the hashing embedder; each in its own
# collection, so an earlier run with the other one does not get in the way.
embedder=hash
model_dir="${QUIVER_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/quiver/models/all-MiniLM-L6-v2}"
[ -f "$model_dir/model.safetensors" ] && [ -f "$model_dir/vocab.txt" ] && embedder=local
collection="demo-$embedder"
"$quiver" index data --store "$store" --collection "$collection" --embedder "$embedder" \
  --splitter markdown --chunk-size 600 --chunk-overlap 60 --prune
for q in "Who rowed out to rescue the survivors of a shipwreck?" \
         "Why were lighthouse keepers called wickies?" \
         "What did the Fresnel lens change?" \
         "When was the Skerry Point light automated?"; do
  echo
  echo "Q: $q"
  "$quiver" query "$q" --store "$store" --collection "$collection" -k 3
done
