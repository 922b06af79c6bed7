#!/usr/bin/env bash
# Prints the names in scripts/isolated-tests as one `swift test --filter` pattern.
grep -v '^#' "$(dirname "$0")/isolated-tests" | grep . | tr '\n' '|' | sed 's/|$//'
