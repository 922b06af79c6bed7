import Dispatch
import Foundation
import VectorStore
import QuiverCore

/// A small pool of libpq connections: at most `capacity` open at once, opened on demand,
/// reused, and dropped when broken. A caller holds one connection for one operation (never
/// across an `await`), so a caller waiting for one only waits for other threads' I/O.
///
/// Thread safety: every member is safe from any thread.
final class ConnectionPool: Sendable {
    private let conninfo: String
    let location: String
    let capacity: Int
    private let reconnect: ReconnectPolicy
    private let idle = PosixMutex<[PGConnection]>([])
    private let slots: DispatchSemaphore

    init(conninfo: String, location: String, capacity: Int, reconnect: ReconnectPolicy) {
        self.conninfo = conninfo
        self.location = location
        self.capacity = max(1, capacity)
        self.reconnect = reconnect
        slots = DispatchSemaphore(value: max(1, capacity))
    }

    /// Runs `body` with a connection of the pool. When the connection is lost (the server
    /// restarted, the network dropped), the work is retried on a new connection as
    /// `reconnect` says: callers give only work that is safe to run again (a read, or a
    /// whole transaction that either committed or did not).
    ///
    /// - Throws: what `body` throws, or `.storage` when no connection can be made.
    func with<T>(_ body: (PGConnection) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try once(body)
            } catch let error as PGError where error.connectionLost && attempt < reconnect.attempts {
                Thread.sleep(forTimeInterval: reconnect.delay(afterAttempt: attempt))
            }
        }
    }

    private func once<T>(_ body: (PGConnection) throws -> T) throws -> T {
        slots.wait()
        defer { slots.signal() }
        let reused = idle.withLock { $0.popLast() }
        let connection = try reused.flatMap { $0.isBroken ? nil : $0 } ?? PGConnection(conninfo: conninfo)
        do {
            let value = try body(connection)
            if !connection.isBroken { idle.withLock { $0.append(connection) } }
            return value
        } catch {
            if !connection.isBroken { idle.withLock { $0.append(connection) } }
            throw error
        }
    }

    /// Closes the idle connections (those in use close when returned and dropped).
    func closeIdle() { idle.withLock { $0.removeAll() } }
}

/// When a lost connection is retried: `attempts` in all, waiting `baseDelay` doubled each
/// time (capped at `maxDelay`) between them.
public struct ReconnectPolicy: Sendable, Hashable {
    /// Attempts in all, the first included (1: no retry).
    public var attempts: Int
    /// The wait before the second attempt, in seconds.
    public var baseDelay: Double
    /// The longest wait, in seconds.
    public var maxDelay: Double

    /// Creates a policy; the default tries 5 times over about 3 seconds (a server restart).
    public init(attempts: Int = 5, baseDelay: Double = 0.2, maxDelay: Double = 2) {
        self.attempts = max(1, attempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The wait after failed attempt `n` (from 1), in seconds.
    public func delay(afterAttempt n: Int) -> Double {
        min(maxDelay, baseDelay * pow(2, Double(max(0, n - 1))))
    }
}
