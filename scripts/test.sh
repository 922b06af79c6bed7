#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Style: the house .swift-format; warnings fail the run.
swift format lint --strict -r Sources tools Tests Package.swift
swift build --build-tests
# A crash prints the crashed thread only, without registers or the image list: CI keeps
# the tail of the output, and the crashed thread's frames must be in it.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=yes,threads=crashed,registers=none,images=none}"
# The tests that block the cooperative pool or dispatch's threads on purpose (see
# `runsIsolatedTests` in Tests/TestSupport): beside each other and the other suites they
# starved for threads, so they run one at a time in a process of their own.
isolated=$(tr '\n' '|' <<'NAMES' | sed 's/|$//'
streamsInsideBlockingWaitsFromEveryPoolThread
aToolMayRunAnotherAnswerLoop
asyncToolsInTheSynchronousForm
manyLoopsWhoseSynchronousToolsCallQuiverDoNotDeadlock
hooksMayCallSynchronousAPIsFromInsideAnswers
waitRunsWhileDispatchsDefaultPoolIsBlocked
asyncFormsRunWhileDispatchsOvercommitPoolIsExhausted
syncCallsFromManyTasksOnTheCooperativePoolAllComplete
sixtyFourTasksCallingSyncEmbedOnTheCooperativePoolAllComplete
synchronousRunsFromManyTasksOnTheCooperativePool
syncAndAsyncRequestsReuseOneConnection
lmdbConformanceRunAlone
compactConformanceRunAlone
postgresConformanceRunAlone
NAMES
)
# The whole suite in one process, then the isolated tests.
QUIVER_ISOLATED_TESTS=skip swift test --skip-build
swift test --skip-build --no-parallel --filter "$isolated"
