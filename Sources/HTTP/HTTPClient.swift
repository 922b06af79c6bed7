import CCurl
import Foundation
import QuiverCore

/// An HTTP client on libcurl. `send` has a synchronous form, which does its I/O on the
/// calling thread with a pooled easy handle, and an `async` form, which runs on a curl
/// multi handle driven by a thread this client owns (never the cooperative pool) and
/// aborts the transfer when the calling task is cancelled. Both reuse connections
/// (keep-alive; HTTP/2 multiplexing where a TLS server offers it) and verify TLS by
/// default. No global lock: calls from many threads and tasks proceed in parallel.
///
/// Status codes are not errors at this level: see `HTTPResponse.status`.
public final class HTTPClient: Sendable {
    /// Timeouts and TLS settings.
    public struct Configuration: Sendable {
        /// Longest time to establish a connection.
        public var connectTimeout: Duration = .seconds(10)
        /// Longest time for a whole request (a call's `deadline` may shorten it).
        public var requestTimeout: Duration = .seconds(120)
        /// Verify TLS certificates and host names. Default true.
        public var verifyTLS = true
        /// Most connections the async path opens to one host (128: a batch of 100
        /// completions, `OpenAIChat`'s preferred concurrency, in flight at once; over
        /// HTTP/2 the requests share connections instead).
        public var maxConnectionsPerHost = 128

        /// Defaults.
        public init() {}
    }

    /// The client's settings.
    public let configuration: Configuration
    private let pool: EasyPool
    private let loop: CurlMultiLoop

    /// Creates a client (and its I/O thread).
    public init(configuration: Configuration = Configuration()) {
        _ = CurlRuntime.initialized
        self.configuration = configuration
        let pool = EasyPool()
        self.pool = pool
        loop = CurlMultiLoop(maxConnectionsPerHost: configuration.maxConnectionsPerHost) { pool.put($0) }
    }

    deinit {
        loop.shutdown()
    }

    /// A transfer for the async path, on a pooled handle (returned on failure).
    func makeTransfer(_ request: HTTPRequest, streaming: Bool = false) throws -> CurlTransfer {
        if Task.isCancelled { throw HTTPError(.cancelled, url: request.url, message: "the task was cancelled") }
        let easy = try pool.take(url: request.url)
        do {
            return try CurlTransfer(easy: easy, request: request, configuration: configuration, streaming: streaming)
        } catch {
            pool.put(easy)
            throw error
        }
    }

    /// Sends a request on the calling thread.
    ///
    /// - Throws: `HTTPError` `.transport`, `.timeout`, `.invalidRequest`.
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        let easy = try pool.take(url: request.url)
        defer { pool.put(easy) }
        let transfer = try CurlTransfer(easy: easy, request: request, configuration: configuration)
        return try transfer.result(curl_easy_perform(easy)).get()
    }

    /// Sends a request on the client's I/O thread; cancelling the task aborts it.
    ///
    /// - Throws: `HTTPError` `.transport`, `.timeout`, `.cancelled`, `.invalidRequest`.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = try makeTransfer(request)
        let loop = self.loop
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                loop.start(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
    }
}

extension HTTPClient {
    /// Sends a request and returns as soon as the status and headers arrive; the body
    /// follows as it is received (for server-sent events and NDJSON). Ending the
    /// iteration early, or cancelling the task, aborts the transfer. Without a deadline, a
    /// stream fails only when no data arrives for `requestTimeout`. The body is buffered
    /// without bound if the consumer is slower than the network.
    ///
    /// - Throws: `HTTPError` `.transport`, `.timeout`, `.cancelled`, `.invalidRequest`.
    public func stream(_ request: HTTPRequest) async throws -> HTTPStream {
        let transfer = try makeTransfer(request, streaming: true)
        let (chunks, continuation) = AsyncThrowingStream<[UInt8], Error>.makeStream()
        let sink = StreamingSink(chunks: continuation)
        transfer.streaming = sink
        let loop = self.loop
        // The closure also keeps this client (and its I/O thread) alive while the body flows.
        continuation.onTermination = { [self] termination in
            if case .cancelled = termination { loop.cancel(transfer) }
            _ = self
        }
        let (status, headers) = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (head: CheckedContinuation<(Int, [(String, String)]), Error>) in
                sink.headContinuation = head
                loop.start(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
        return HTTPStream(status: status, headers: headers, body: chunks)
    }
}

/// A response whose body is still arriving.
public struct HTTPStream: Sendable {
    /// The status code.
    public let status: Int
    /// Response header lines, names lowercased.
    public let headers: [(String, String)]
    /// Body chunks as received.
    public let body: AsyncThrowingStream<[UInt8], Error>

    /// The body as lines (without line endings).
    public func lines() -> AsyncThrowingStream<String, Error> {
        let body = self.body
        return AsyncThrowingStream { continuation in
            let task = Task(executorPreference: BlockingExecutor.current) {
                var splitter = LineSplitter()
                do {
                    for try await chunk in body {
                        for line in splitter.feed(chunk) { continuation.yield(line) }
                    }
                    if let last = splitter.finish() { continuation.yield(last) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The body as server-sent events.
    public func events() -> AsyncThrowingStream<ServerSentEvent, Error> {
        let lines = self.lines()
        return AsyncThrowingStream { continuation in
            let task = Task(executorPreference: BlockingExecutor.current) {
                var parser = ServerSentEventParser()
                do {
                    for try await line in lines {
                        if let event = parser.feed(line) { continuation.yield(event) }
                    }
                    if let event = parser.finish() { continuation.yield(event) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Idle easy handles; each keeps its connection cache, so a sync caller that takes one
/// back reuses its connection.
///
/// `@unchecked Sendable`: the handles are only stored and handed out under the mutex; a
/// handle is used by one thread at a time.
final class EasyPool: @unchecked Sendable {
    private struct Handle: @unchecked Sendable { let easy: UnsafeMutableRawPointer }
    private let idle = PosixMutex<[Handle]>([])

    func take(url: String) throws -> UnsafeMutableRawPointer {
        if let h = idle.withLock({ $0.popLast() }) { return h.easy }
        guard let easy = curl_easy_init() else {
            throw HTTPError(.invalidRequest, url: url, message: "libcurl could not create a handle")
        }
        return easy
    }

    func put(_ easy: UnsafeMutableRawPointer) {
        idle.withLock { $0.append(Handle(easy: easy)) }
    }

    deinit {
        for h in idle.withLock({ $0 }) { curl_easy_cleanup(h.easy) }
    }
}
