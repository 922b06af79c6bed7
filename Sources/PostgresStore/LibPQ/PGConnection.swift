import CLibPQ
import Foundation
import VectorStore

/// One libpq connection, used by one thread at a time (the pool hands it out and takes it
/// back). Every call blocks the calling thread: callers run on their own thread (the
/// synchronous forms) or on the database's executor (the async forms), never on the
/// cooperative pool.
///
/// `@unchecked Sendable`: the handle is only touched by the thread that holds the
/// connection from the pool, one at a time; `deinit` closes it.
final class PGConnection: @unchecked Sendable {
    private let handle: OpaquePointer

    /// Connects with a libpq connection string or `postgres://` URL (libpq reads
    /// `PGPASSWORD` and `~/.pgpass` itself).
    ///
    /// - Throws: `PGError` (`connecting`) with libpq's message.
    init(conninfo: String) throws {
        guard let h = PQconnectdb(conninfo) else {
            throw PGError(sqlState: nil, message: "libpq could not allocate a connection", connectionLost: true, connecting: true)
        }
        guard PQstatus(h) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(h))
            PQfinish(h)
            throw PGError(sqlState: nil, message: message, connectionLost: true, connecting: true)
        }
        handle = h
        // Notices (e.g. "relation already exists, skipping") are not for the user's terminal.
        PQsetNoticeProcessor(h, { _, _ in }, nil)
    }

    deinit { PQfinish(handle) }

    /// Whether the connection is lost (the server went away or restarted).
    var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }

    /// Runs one statement with text parameters (`$1`, `$2`, …; nil is SQL NULL) and returns
    /// its result. Values never become part of the SQL text.
    ///
    /// - Throws: `PGError` with the SQLSTATE and libpq's message.
    @discardableResult
    func exec(_ sql: String, _ params: [String?] = []) throws -> PGResult {
        let result: OpaquePointer? = withCStrings(params) { pointers in
            PQexecParams(handle, sql, Int32(params.count), nil, pointers, nil, nil, 0)
        }
        guard let result else {
            throw PGError(sqlState: nil, message: Self.trimmed(PQerrorMessage(handle)), connectionLost: isBroken)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PGResult(result)
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = Self.trimmed(PQresultErrorMessage(result))
            PQclear(result)
            throw PGError(sqlState: state, message: message, connectionLost: isBroken)
        }
    }

    /// Runs `body` in one transaction (`BEGIN` … `COMMIT`, rolled back when `body` throws).
    /// With `snapshot`, every statement sees the one snapshot taken by the first
    /// (REPEATABLE READ; for read-only work, which it cannot make fail).
    func transaction<T>(readOnly: Bool = false, snapshot: Bool = false, _ body: () throws -> T) throws -> T {
        try exec((snapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN") + (readOnly ? " READ ONLY" : ""))
        do {
            let value = try body()
            try exec("COMMIT")
            return value
        } catch {
            if !isBroken { _ = try? exec("ROLLBACK") }
            throw error
        }
    }

    private static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown libpq error" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        var owned: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
        defer { for p in owned { free(p) } }
        return owned.withUnsafeMutableBufferPointer { buffer in
            body(buffer.map { $0.map { UnsafePointer($0) } })
        }
    }
}

/// A statement's result rows, read as text. Owned by the thread that ran the statement.
///
/// `@unchecked Sendable`: never shared; `deinit` clears the libpq result.
final class PGResult: @unchecked Sendable {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }
    deinit { PQclear(handle) }

    /// Rows returned.
    var rowCount: Int { Int(PQntuples(handle)) }
    /// Rows a command affected (`DELETE`, `INSERT`, `UPDATE`).
    var affectedRows: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    /// The value at `row`, `column` as text; nil for NULL.
    func string(_ row: Int, _ column: Int) -> String? {
        if PQgetisnull(handle, Int32(row), Int32(column)) != 0 { return nil }
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    /// Calls `body` with the raw bytes of the value at `row`, `column` (empty for NULL):
    /// parsing in place saves a String per value on hot paths (vectors).
    func withBytes<T>(_ row: Int, _ column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        guard let p = PQgetvalue(handle, Int32(row), Int32(column)) else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        return try p.withMemoryRebound(to: UInt8.self, capacity: length) { try body(UnsafeBufferPointer(start: $0, count: length)) }
    }
}

/// A failed libpq call: the SQLSTATE (nil when the connection failed) and the server's
/// message. `PostgresDatabase` turns it into a `StoreError`.
struct PGError: Error, Sendable {
    /// The five-character SQLSTATE, e.g. `42P01` (undefined table).
    var sqlState: String?
    /// libpq's message (never holds parameter values or passwords).
    var message: String
    /// Whether the connection was lost, so that a retry on a new one may succeed.
    var connectionLost: Bool
    /// Whether no connection could be made at all.
    var connecting = false

    static let undefinedTable = "42P01"
    static let uniqueViolation = "23505"
    static let serializationFailure = "40001"
    static let deadlockDetected = "40P01"
}
