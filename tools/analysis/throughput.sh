#!/usr/bin/env bash
# Builds tools/analysis/Throughput.swift optimized (QuiverCore and TextAnalysis as separate
# modules, as in a release build of the package) and runs it on a JSONL corpus.
#
#   tools/analysis/throughput.sh [CORPUS.jsonl [NAME]]
#
# CORPUS defaults to ../shared/beir/scifact-train/corpus.jsonl (from the package root); NAME
# runs only the configurations whose name contains it.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(mktemp -d)"
# KEEP=1 keeps the build folder (to profile the binary).
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$out"' EXIT; else echo "build folder: $out" >&2; fi
flags=(-O -wmo -parse-as-library -I "$out")
swiftc "${flags[@]}" -module-name QuiverCore -emit-module -emit-module-path "$out/QuiverCore.swiftmodule" \
  -emit-library -static -o "$out/libQuiverCore.a" Sources/QuiverCore/*.swift
swiftc "${flags[@]}" -module-name TextAnalysis -emit-module -emit-module-path "$out/TextAnalysis.swiftmodule" \
  -Xcc -fmodule-map-file=Sources/CStemmer/module.modulemap -I Sources/CStemmer \
  -emit-library -static -o "$out/libTextAnalysis.a" Sources/TextAnalysis/*.swift Sources/TextAnalysis/Snowball/*.swift
swiftc "${flags[@]}" -module-name Throughput -Xcc -fmodule-map-file=Sources/CStemmer/module.modulemap \
  tools/analysis/Throughput.swift -L "$out" -lTextAnalysis -lQuiverCore -lstemmer -o "$out/throughput"
"$out/throughput" "$@"
