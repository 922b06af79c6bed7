import Foundation
import QuiverCore

/// Sends requests to one endpoint through a retry policy and a circuit breaker shared by
/// all its calls. Sync and async forms; the sync form sleeps on the calling thread
/// between attempts, the async form with `Task.sleep` (cancellable).
public final class ResilientCaller: Sendable {
    /// What happened to one attempt, for observers (the batch embedder lowers its
    /// concurrency on `.rateLimited`).
    public enum Event: Sendable, Equatable {
        /// An attempt succeeded.
        case success
        /// The server answered 429.
        case rateLimited
        /// An attempt failed and will be retried after the delay.
        case retrying(after: Duration)
    }

    /// The HTTP client.
    public let client: HTTPClient
    /// The retry policy.
    public let policy: RetryPolicy
    private let breaker: PosixMutex<CircuitBreaker>
    private let observers = PosixMutex<(next: Int, all: [Int: @Sendable (Event) -> Void])>((0, [:]))

    /// Creates a caller.
    public init(client: HTTPClient, policy: RetryPolicy = RetryPolicy(), breaker: CircuitBreaker = CircuitBreaker()) {
        self.client = client
        self.policy = policy
        self.breaker = PosixMutex(breaker)
    }

    /// Calls `observer` for every attempt's outcome until `removeObserver` with the
    /// returned token.
    @discardableResult
    public func observe(_ observer: @escaping @Sendable (Event) -> Void) -> Int {
        observers.withLock {
            $0.next += 1
            $0.all[$0.next] = observer
            return $0.next
        }
    }

    /// Stops calling an observer.
    public func removeObserver(_ token: Int) {
        _ = observers.withLock { $0.all.removeValue(forKey: token) }
    }

    /// The breaker's state, for diagnostics.
    public var breakerState: CircuitBreaker.State { breaker.withLock { $0.state } }

    /// Sends with retries on the calling thread. Returns a 2xx/3xx response.
    ///
    /// - Throws: `HTTPError` — `.status` with the server's message for a non-retryable
    ///   status or when retries ran out, `.transport`/`.timeout` likewise,
    ///   `.circuitOpen` when the endpoint failed repeatedly.
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        var attempt = 1
        var waited = Duration.zero
        while true {
            let probe = try admit(request)
            let outcome = Result { try client.send(request) }
            switch evaluate(outcome, request: request, attempt: attempt, waited: waited, probe: probe) {
            case .done(let response): return response
            case .fail(let error): throw error
            case .wait(let delay):
                Thread.sleep(forTimeInterval: Double(delay.milliseconds) / 1000)
                waited += delay
                attempt += 1
            }
        }
    }

    /// Sends with retries; cancelling the task stops the current attempt or wait.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await retrying(request) {
            let response = try await self.client.send(request)
            return (response, response)
        }
    }

    /// Opens a streamed response with the same retries as `send`: failures before the
    /// body starts (transport errors, 429, 5xx with their `Retry-After`) are retried;
    /// once a 2xx head arrives the stream is returned and nothing more is retried. An
    /// error status's body (up to 64 KiB) becomes the error's message.
    ///
    /// - Throws: as `send`.
    public func stream(_ request: HTTPRequest) async throws -> HTTPStream {
        try await retrying(request) {
            let stream = try await self.client.stream(request)
            guard stream.status >= 400 else {
                return (HTTPResponse(status: stream.status, headers: stream.headers, body: []), stream)
            }
            var body: [UInt8] = []
            for try await chunk in stream.body {
                body += chunk
                if body.count >= 65_536 { break }  // enough for a message; ends the transfer
            }
            return (HTTPResponse(status: stream.status, headers: stream.headers, body: body), nil)
        }
    }

    /// The async retry loop: `attempt` gives the response to judge and, on success, the
    /// value to return.
    private func retrying<T>(_ request: HTTPRequest, attempt: () async throws -> (HTTPResponse, T?)) async throws -> T {
        var attempts = 1
        var waited = Duration.zero
        while true {
            let probe = try admit(request)
            var value: T?
            let outcome: Result<HTTPResponse, Error>
            do {
                let (response, v) = try await attempt()
                value = v
                outcome = .success(response)
            } catch {
                outcome = .failure(error)
            }
            switch evaluate(outcome, request: request, attempt: attempts, waited: waited, probe: probe) {
            case .done:
                guard let value else { throw HTTPError(.transport, url: request.url, message: "the response closed before it opened") }
                return value
            case .fail(let error): throw error
            case .wait(let delay):
                do { try await Task.sleep(for: delay) } catch {
                    throw HTTPError(.cancelled, url: request.url, message: "cancelled while waiting to retry")
                }
                waited += delay
                attempts += 1
            }
        }
    }

    private enum Step {
        case done(HTTPResponse)
        case fail(HTTPError)
        case wait(Duration)
    }

    /// Asks the breaker; returns whether this attempt is the half-open probe.
    private func admit(_ request: HTTPRequest) throws -> Bool {
        switch breaker.withLock({ $0.acquire(now: .now) }) {
        case .allowed: return false
        case .probe: return true
        case .rejected(let retryIn):
            throw HTTPError(
                .circuitOpen, url: request.url,
                message: "the endpoint failed repeatedly; calls fail fast for another \(retryIn.milliseconds) ms")
        }
    }

    private func notify(_ event: Event) {
        for o in observers.withLock({ Array($0.all.values) }) { o(event) }
    }

    private func evaluate(
        _ outcome: Result<HTTPResponse, Error>, request: HTTPRequest, attempt: Int, waited: Duration, probe: Bool
    ) -> Step {
        var error: HTTPError
        let failure: RetryPolicy.Failure
        switch outcome {
        case .success(let response) where response.status < 400:
            breaker.withLock { $0.recordSuccess() }
            notify(.success)
            return .done(response)
        case .success(let response):
            let retryAfter = response.header("retry-after").flatMap { RetryAfter.parse($0) }
            if response.status == 429 { notify(.rateLimited) }
            error = HTTPError(
                .status, url: request.url, status: response.status, message: Self.scrub(response.serverMessage, request),
                retryAfter: retryAfter)
            failure = .status(response.status, retryAfter: retryAfter)
        case .failure(let e as HTTPError) where e.code == .transport || e.code == .timeout:
            error = e
            failure = .transport
        case .failure(let e):
            // Cancelled, invalid, or foreign: nothing learned about the endpoint.
            if probe { breaker.withLock { $0.releaseProbe(now: .now) } }
            return .fail(e as? HTTPError ?? HTTPError(.transport, url: request.url, message: "\(e)"))
        }
        let deadlinePassed = request.deadline.map { ContinuousClock.now >= $0 } ?? false
        var decision = policy.decide(attempt: attempt, failure: failure, waited: waited, random: Double.random(in: 0..<1))
        if case .retry(let delay) = decision, let deadline = request.deadline, ContinuousClock.now + delay >= deadline {
            decision = .giveUp("the call's deadline leaves no time to retry")
        }
        if probe && RetryPolicy.isRetryable(failure) { decision = .giveUp("the probe failed") }
        switch decision {
        case .retry(let delay):
            notify(.retrying(after: delay))
            return .wait(delay)
        case .giveUp:
            breaker.withLock { b in
                if !RetryPolicy.isRetryable(failure) {
                    // The server answered: a client error says nothing bad about its health.
                    if probe { b.recordSuccess() }
                } else if deadlinePassed, case .transport = failure {
                    // The caller's own deadline ran out: not the endpoint's fault.
                    if probe { b.releaseProbe(now: .now) }
                } else {
                    b.recordFailure(now: .now)
                }
            }
            error.attempts = attempt
            return .fail(error)
        }
    }

    /// A server's error text with the request's credentials taken out (some proxies echo
    /// the key they were sent).
    static func scrub(_ message: String, _ request: HTTPRequest) -> String {
        var out = message
        for (name, value) in request.headers where ["authorization", "api-key", "x-api-key"].contains(name.lowercased()) {
            for secret in [value, value.replacingOccurrences(of: "Bearer ", with: "")] where secret.count >= 8 {
                out = out.replacingOccurrences(of: secret, with: "<redacted>")
            }
        }
        return out
    }
}
