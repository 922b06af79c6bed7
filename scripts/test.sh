#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Style: the house .swift-format; warnings fail the run.
swift format lint --strict -r Sources tools Tests Package.swift
swift build --build-tests
# The whole suite in one process, then the tests that must run alone (see
# `runsIsolatedTests` in Tests/TestSupport) in one of their own.
QUIVER_ISOLATED_TESTS=skip swift test --skip-build
swift test --skip-build --filter 'synchronousRunsFromManyTasksOnTheCooperativePool|syncAndAsyncRequestsReuseOneConnection'

