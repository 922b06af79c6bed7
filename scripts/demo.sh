#!/usr/bin/env bash
# The README's first command: installs what is missing, builds in release mode and runs
# the main job offline. Until the ingest and query layers land it indexes synthetic
# vectors into a store and searches them (see `quiver demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product quiver
store="${QUIVER_STORE:-.quiver}"
.build/release/quiver demo --store "$store" "$@"
