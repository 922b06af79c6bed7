#!/usr/bin/env bash
# Installs what Quiver needs to build and test, when missing. Idempotent; silent when
# everything is already there.
set -euo pipefail

need=()
for pkg in liblmdb-dev libopenblas-dev libcurl4-openssl-dev pkg-config libedit-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
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
