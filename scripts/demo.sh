#!/usr/bin/env bash
# The README's first command: installs what is missing (the local model included), builds
# in release mode, indexes the sample corpus in data/ with the local all-MiniLM-L6-v2
# embedder (the hashing embedder, with a notice, if the model could not be fetched), and
# answers three questions with their sources, offline (extractive answers: no LLM).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --model-optional
swift build -c release --product quiver
quiver=.build/release/quiver
store="${QUIVER_STORE:-.quiver}"
"$quiver" index data --store "$store" --splitter markdown --chunk-size 600 --chunk-overlap 60 --prune
for q in "Who rowed out to rescue the survivors of a shipwreck?" \
         "Why were lighthouse keepers called wickies?" \
         "What did the Fresnel lens change?"; do
  echo
  echo "Q: $q"
  "$quiver" query "$q" --store "$store" -k 3
done
