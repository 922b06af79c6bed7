import Foundation

/// When to retry a failed request and how long to wait: exponential backoff with full
/// jitter, honouring `Retry-After`, within a cap on the total wait. Retries 408, 429,
/// 5xx and transport errors (including timeouts); never other 4xx.
///
/// A pure value: `decide` has no side effects, so it is tested with tables.
public struct RetryPolicy: Sendable, Hashable {
    /// Most attempts in all, the first included (1 means no retry).
    public var maxAttempts: Int
    /// Backoff before the first retry, before jitter.
    public var baseDelay: Duration
    /// Growth factor per retry.
    public var multiplier: Double
    /// Largest single backoff, before jitter.
    public var maxDelay: Duration
    /// Fraction of each backoff that is randomized (0 = none, 1 = full jitter).
    public var jitter: Double
    /// The most time spent waiting between attempts in all; a wait that would exceed it
    /// ends the retries. A `Retry-After` longer than this is not honoured either.
    public var maxTotalWait: Duration

    /// Creates a policy. Defaults: 5 attempts, 0.5 s base, ×2, 20 s cap, full jitter, 60 s
    /// total.
    public init(
        maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(500), multiplier: Double = 2,
        maxDelay: Duration = .seconds(20), jitter: Double = 1, maxTotalWait: Duration = .seconds(60)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.multiplier = max(1, multiplier)
        self.maxDelay = maxDelay
        self.jitter = min(1, max(0, jitter))
        self.maxTotalWait = maxTotalWait
    }

    /// No retries.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// What went wrong with one attempt.
    public enum Failure: Sendable, Hashable {
        /// The server answered with this status (and maybe a `Retry-After`).
        case status(Int, retryAfter: Duration?)
        /// The connection failed, broke, or timed out.
        case transport
    }

    /// What to do next.
    public enum Decision: Sendable, Hashable {
        /// Wait this long, then try again.
        case retry(after: Duration)
        /// Stop and report the failure, for this reason.
        case giveUp(String)
    }

    /// Whether a failure is worth retrying at all.
    public static func isRetryable(_ failure: Failure) -> Bool {
        switch failure {
        case .transport: return true
        case .status(let code, _): return code == 408 || code == 429 || (500...599).contains(code)
        }
    }

    /// The decision after attempt number `attempt` (1-based) failed with `failure`,
    /// having waited `waited` in all so far. `random` is a number in 0..<1.
    public func decide(attempt: Int, failure: Failure, waited: Duration, random: Double) -> Decision {
        guard Self.isRetryable(failure) else {
            if case .status(let code, _) = failure { return .giveUp("HTTP \(code) is not retryable") }
            return .giveUp("not retryable")
        }
        guard attempt < maxAttempts else { return .giveUp("gave up after \(attempt) attempts") }
        var delay: Duration
        if case .status(_, let retryAfter?) = failure {
            delay = retryAfter  // the server said when; no jitter
        } else {
            // In seconds first: base · multiplier^n overflows Duration for large n.
            let seconds = min(baseDelay.seconds * pow(multiplier, Double(attempt - 1)), maxDelay.seconds)
            let capped = Duration.milliseconds(Int64((seconds * 1000).rounded()))
            delay = capped * (1 - jitter) + capped * (jitter * random)
        }
        if delay < .zero { delay = .zero }
        guard waited + delay <= maxTotalWait else {
            return .giveUp("waiting \(delay) more would exceed the retry budget of \(maxTotalWait)")
        }
        return .retry(after: delay)
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}

/// Parses an HTTP `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110).
public enum RetryAfter {
    /// The wait the header asks for, relative to `now`; nil when it does not parse.
    /// A date in the past means no wait.
    public static func parse(_ value: String, now: Date = Date()) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed) { return seconds >= 0 ? .seconds(seconds) : nil }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "GMT")
            f.dateFormat = format
            if let date = f.date(from: trimmed) {
                let seconds = date.timeIntervalSince(now)
                return seconds > 0 ? .milliseconds(Int64((seconds * 1000).rounded())) : .zero
            }
        }
        return nil
    }
}
