#!/usr/bin/env bash
# Builds tools/analysis/Throughput.swift optimized (QuiverCore and TextAnalysis as separate
# modules, as in a release build of the package) and runs it on a JSONL corpus.
#
#   tools/analysis/throughput.sh [CORPUS.jsonl [NAME]]   (NAME: run only configurations containing it)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(mktemp -d)"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$out"' EXIT; echo "build dir: $out" >&2
flags=(-O -wmo -parse-as-library -I "$out")
swiftc "${flags[@]}" -module-name QuiverCore -emit-module -emit-module-path "$out/QuiverCore.swiftmodule" \
  -emit-library -static -o "$out/libQuiverCore.a" Sources/QuiverCore/*.swift
swiftc "${flags[@]}" -module-name TextAnalysis -emit-module -emit-module-path "$out/TextAnalysis.swiftmodule" \
  -Xcc -fmodule-map-file=Sources/CStemmer/module.modulemap -I Sources/CStemmer \
  -emit-library -static -o "$out/libTextAnalysis.a" Sources/TextAnalysis/*.swift Sources/TextAnalysis/Snowball/*.swift
swiftc "${flags[@]}" -module-name Throughput -Xcc -fmodule-map-file=Sources/CStemmer/module.modulemap \
  tools/analysis/Throughput.swift -L "$out" -lTextAnalysis -lQuiverCore -lstemmer -o "$out/throughput"
"$out/throughput" "${@:-/work/shared/beir/scifact-train/corpus.jsonl}"
