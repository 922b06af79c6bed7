/// A circuit breaker: after `threshold` consecutive failures, calls fail fast for
/// `coolDown`; then one probe is let through — its success closes the circuit, its
/// failure opens it again.
///
/// A pure value driven by explicit times, so it is tested with tables; share one behind
/// a lock.
public struct CircuitBreaker: Sendable, Hashable {
    /// The breaker's state.
    public enum State: Sendable, Hashable {
        /// Calls pass; counts consecutive failures.
        case closed(failures: Int)
        /// Calls fail fast until the instant.
        case open(until: ContinuousClock.Instant)
        /// One probe is in flight; other calls fail fast.
        case halfOpen
    }

    /// What a caller may do now.
    public enum Permission: Sendable, Hashable {
        /// Go ahead.
        case allowed
        /// Go ahead as the probe; report its outcome.
        case probe
        /// Fail fast; the circuit may let a probe through after this long.
        case rejected(retryIn: Duration)
    }

    /// Consecutive failures that open the circuit.
    public let threshold: Int
    /// How long an open circuit rejects calls.
    public let coolDown: Duration
    /// The current state.
    public private(set) var state: State = .closed(failures: 0)

    /// Creates a closed breaker.
    public init(threshold: Int = 5, coolDown: Duration = .seconds(30)) {
        self.threshold = max(1, threshold)
        self.coolDown = coolDown
    }

    /// Asks to make a call at `now`.
    public mutating func acquire(now: ContinuousClock.Instant) -> Permission {
        switch state {
        case .closed:
            return .allowed
        case .open(let until):
            if now >= until {
                state = .halfOpen
                return .probe
            }
            return .rejected(retryIn: until - now)
        case .halfOpen:
            return .rejected(retryIn: .zero)
        }
    }

    /// Ends a probe that says nothing about the endpoint's health (it was cancelled or
    /// never sent): the next caller probes again.
    public mutating func releaseProbe(now: ContinuousClock.Instant) {
        if case .halfOpen = state { state = .open(until: now) }
    }

    /// Reports a successful call.
    public mutating func recordSuccess() {
        state = .closed(failures: 0)
    }

    /// Reports a failed call (one that exhausted its retries) at `now`.
    public mutating func recordFailure(now: ContinuousClock.Instant) {
        switch state {
        case .closed(let failures):
            state = failures + 1 >= threshold ? .open(until: now + coolDown) : .closed(failures: failures + 1)
        case .halfOpen, .open:
            state = .open(until: now + coolDown)
        }
    }
}
