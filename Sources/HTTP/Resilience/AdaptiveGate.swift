import Foundation
import QuiverCore

/// How many calls to one server a batch runs at once, following the server's answers:
/// an `AdaptiveConcurrency` fed by a `ResilientCaller`'s events (a 429 halves the limit,
/// successes raise it back), with a gate for synchronous workers. One per batch; call
/// `stop()` when the batch ends.
///
/// ```swift
/// let gate = AdaptiveGate(maximum: 64, caller: model.caller)
/// defer { gate.stop() }
/// // async: start another call while `inFlight < gate.limit`
/// // sync workers: gate.enter(); defer { gate.leave() }; try call()
/// ```
public final class AdaptiveGate: Sendable {
    private let state: PosixMutex<(aimd: AdaptiveConcurrency, active: Int)>
    private let condition = NSCondition()
    private let caller: ResilientCaller?
    private let token: Int?

    /// A gate allowing `maximum` calls at first, lowered by `caller`'s 429s (none: fixed).
    public init(maximum: Int, caller: ResilientCaller?) {
        let state = PosixMutex((aimd: AdaptiveConcurrency(maximum: maximum), active: 0))
        self.state = state
        self.caller = caller
        let condition = self.condition
        token = caller?.observe { event in
            condition.lock()
            defer { condition.unlock() }
            switch event {
            case .rateLimited: state.withLock { $0.aimd.recordRateLimited(now: .now) }
            case .success: state.withLock { $0.aimd.recordSuccess() }
            case .retrying: return
            }
            condition.broadcast()
        }
    }

    /// Calls allowed in flight now.
    public var limit: Int { state.withLock { $0.aimd.limit } }

    /// Waits until one more call may run (synchronous workers); pair with `leave()`.
    public func enter() {
        condition.lock()
        defer { condition.unlock() }
        while !state.withLock({ s in
            guard s.active < s.aimd.limit else { return false }
            s.active += 1
            return true
        }) {
            _ = condition.wait(until: Date().addingTimeInterval(0.05))  // a timeout just polls again
        }
    }

    /// A call that `enter()` let in has ended.
    public func leave() {
        condition.lock()
        defer { condition.unlock() }
        state.withLock { $0.active -= 1 }
        condition.broadcast()
    }

    /// Stops following the caller's events.
    public func stop() {
        if let token { caller?.removeObserver(token) }
    }
}
