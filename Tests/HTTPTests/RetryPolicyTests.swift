import Foundation
import HTTP
import Testing

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(
        maxAttempts: 4, baseDelay: .milliseconds(100), multiplier: 2, maxDelay: .milliseconds(300), jitter: 1,
        maxTotalWait: .seconds(2))

    struct Row: Sendable, CustomStringConvertible {
        var attempt: Int
        var failure: RetryPolicy.Failure
        var waited: Duration
        var random: Double
        var expected: RetryPolicy.Decision?  // nil: any giveUp
        var description: String { "attempt \(attempt) \(failure)" }
    }

    static let rows: [Row] = [
        // Exponential backoff with full jitter: base · 2^(attempt-1), capped, times random.
        Row(attempt: 1, failure: .transport, waited: .zero, random: 1, expected: .retry(after: .milliseconds(100))),
        Row(attempt: 2, failure: .status(503, retryAfter: nil), waited: .zero, random: 1, expected: .retry(after: .milliseconds(200))),
        Row(attempt: 3, failure: .status(500, retryAfter: nil), waited: .zero, random: 1, expected: .retry(after: .milliseconds(300))),
        Row(attempt: 2, failure: .status(502, retryAfter: nil), waited: .zero, random: 0.5, expected: .retry(after: .milliseconds(100))),
        Row(attempt: 1, failure: .status(408, retryAfter: nil), waited: .zero, random: 0, expected: .retry(after: .zero)),
        // Retry-After wins over backoff, without jitter.
        Row(attempt: 1, failure: .status(429, retryAfter: .seconds(1)), waited: .zero, random: 0.1, expected: .retry(after: .seconds(1))),
        // Never other 4xx.
        Row(attempt: 1, failure: .status(400, retryAfter: nil), waited: .zero, random: 1, expected: nil),
        Row(attempt: 1, failure: .status(401, retryAfter: nil), waited: .zero, random: 1, expected: nil),
        Row(attempt: 1, failure: .status(404, retryAfter: .seconds(1)), waited: .zero, random: 1, expected: nil),
        // Attempts and the total wait are capped.
        Row(attempt: 4, failure: .transport, waited: .zero, random: 1, expected: nil),
        Row(attempt: 1, failure: .status(429, retryAfter: .seconds(3)), waited: .zero, random: 1, expected: nil),
        Row(attempt: 2, failure: .transport, waited: .milliseconds(1900), random: 1, expected: nil),
        Row(attempt: 2, failure: .transport, waited: .milliseconds(1800), random: 1, expected: .retry(after: .milliseconds(200))),
    ]

    @Test(arguments: rows)
    func decides(row: Row) {
        let decision = policy.decide(attempt: row.attempt, failure: row.failure, waited: row.waited, random: row.random)
        if let expected = row.expected {
            #expect(decision == expected)
        } else if case .retry = decision {
            Issue.record("expected to give up, got \(decision)")
        }
    }

    @Test func noneNeverRetries() {
        #expect(RetryPolicy.none.decide(attempt: 1, failure: .transport, waited: .zero, random: 0) != .retry(after: .zero))
    }

    @Test func parsesRetryAfter() throws {
        let now = try #require(ISO8601DateFormatter().date(from: "2026-11-27T10:00:00Z"))
        #expect(RetryAfter.parse("7", now: now) == .seconds(7))
        #expect(RetryAfter.parse(" 0 ", now: now) == .seconds(0))
        #expect(RetryAfter.parse("Fri, 27 Nov 2026 10:00:30 GMT", now: now) == .seconds(30))
        #expect(RetryAfter.parse("Friday, 27-Nov-26 10:01:00 GMT", now: now) == .seconds(60))
        #expect(RetryAfter.parse("Fri Nov 27 10:00:05 2026", now: now) == .seconds(5))
        #expect(RetryAfter.parse("Fri, 27 Nov 2026 09:00:00 GMT", now: now) == .zero)
        #expect(RetryAfter.parse("-3", now: now) == nil)
        #expect(RetryAfter.parse("soon", now: now) == nil)
    }
}

@Suite struct CircuitBreakerTests {
    @Test func opensAfterThresholdThenProbes() {
        var b = CircuitBreaker(threshold: 3, coolDown: .seconds(10))
        let t0 = ContinuousClock.now
        // Failures below the threshold keep it closed; a success resets the count.
        for _ in 0..<2 {
            #expect(b.acquire(now: t0) == .allowed)
            b.recordFailure(now: t0)
        }
        b.recordSuccess()
        for _ in 0..<2 { b.recordFailure(now: t0) }
        #expect(b.state == .closed(failures: 2))
        b.recordFailure(now: t0)
        #expect(b.state == .open(until: t0 + .seconds(10)))
        // Open: fail fast, saying when to come back.
        #expect(b.acquire(now: t0 + .seconds(4)) == .rejected(retryIn: .seconds(6)))
        // After the cool-down one probe passes; others are rejected while it runs.
        #expect(b.acquire(now: t0 + .seconds(10)) == .probe)
        #expect(b.acquire(now: t0 + .seconds(10)) == .rejected(retryIn: .zero))
        // A failed probe opens it again for a full cool-down.
        b.recordFailure(now: t0 + .seconds(11))
        #expect(b.state == .open(until: t0 + .seconds(21)))
        // A successful probe closes it.
        #expect(b.acquire(now: t0 + .seconds(21)) == .probe)
        b.recordSuccess()
        #expect(b.state == .closed(failures: 0))
        #expect(b.acquire(now: t0 + .seconds(21)) == .allowed)
    }
}

@Suite struct AdaptiveConcurrencyTests {
    @Test func halvesOnRateLimitOncePerIntervalAndRecoversAdditively() {
        var c = AdaptiveConcurrency(maximum: 16, minimum: 2, decreaseInterval: .seconds(1))
        let t0 = ContinuousClock.now
        #expect(c.limit == 16)
        c.recordRateLimited(now: t0)
        #expect(c.limit == 8)
        // The rest of the burst (requests that were already in flight) does not count again.
        c.recordRateLimited(now: t0 + .milliseconds(200))
        c.recordRateLimited(now: t0 + .milliseconds(900))
        #expect(c.limit == 8)
        c.recordRateLimited(now: t0 + .seconds(1))
        #expect(c.limit == 4)
        for i in 2...5 { c.recordRateLimited(now: t0 + .seconds(i)) }
        #expect(c.limit == 2)  // never below the minimum
        // Every `limit` successes add one.
        for _ in 0..<2 { c.recordSuccess() }
        #expect(c.limit == 3)
        for _ in 0..<3 { c.recordSuccess() }
        #expect(c.limit == 4)
        for _ in 0..<1000 { c.recordSuccess() }
        #expect(c.limit == 16)  // never above the maximum
    }
}
