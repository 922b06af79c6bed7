/// Additive-increase, multiplicative-decrease control of how many requests run at once:
/// a rate-limited answer (429) halves the limit, and every `limit` successes raise it by
/// one, back up to the configured maximum. A rate-limited run slows down instead of
/// failing. A burst of 429s from requests already in flight halves the limit once: after
/// a decrease, further 429s within `decreaseInterval` are ignored.
///
/// A pure value driven by explicit times; share one behind a lock.
public struct AdaptiveConcurrency: Sendable, Hashable {
    /// The configured (and highest) limit.
    public let maximum: Int
    /// The lowest limit.
    public let minimum: Int
    /// Shortest time between two decreases.
    public let decreaseInterval: Duration
    /// Requests allowed in flight now.
    public private(set) var limit: Int
    private var successes = 0
    private var lastDecrease: ContinuousClock.Instant?

    /// Starts at `maximum`.
    public init(maximum: Int, minimum: Int = 1, decreaseInterval: Duration = .milliseconds(500)) {
        self.maximum = max(1, maximum)
        self.minimum = max(1, min(minimum, maximum))
        self.decreaseInterval = decreaseInterval
        limit = self.maximum
    }

    /// A request succeeded.
    public mutating func recordSuccess() {
        guard limit < maximum else { return }
        successes += 1
        if successes >= limit {
            successes = 0
            limit += 1
        }
    }

    /// The server asked to slow down (429) at `now`.
    public mutating func recordRateLimited(now: ContinuousClock.Instant) {
        successes = 0
        if let last = lastDecrease, now - last < decreaseInterval { return }
        limit = max(minimum, limit / 2)
        lastDecrease = now
    }
}
