import Foundation
import HTTP
import QuiverCore

/// The project's loopback embedding server (`tools/testserver/embedding_server.py`), run
/// as a child process on 127.0.0.1 for one test and stopped when this value goes away.
public final class LoopbackServer: Sendable {
    /// `http://127.0.0.1:<port>`.
    public let baseURL: String
    private let process: Process
    private let client = HTTPClient()

    /// Starts a server; `arguments` are its command-line options; `script` is a file in
    /// `tools/testserver` (`async_server.py`: the benchmarks' server).
    public init(_ arguments: [String] = [], script name: String = "embedding_server.py") throws {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/testserver/" + name).path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // --exit-with-parent: a test process that crashes would leave servers holding its
        // output pipes, and `swift test` waiting on them for ever.
        process.arguments = ["python3", script, "--port", "0", "--exit-with-parent"] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            process.terminate()
            throw HTTPError(.transport, url: script, message: "the loopback server did not start: \(text)")
        }
        self.process = process
        baseURL = "http://127.0.0.1:\(port)"
    }

    deinit {
        // Not waitUntilExit: it needs a run loop the test thread may not run. Foundation
        // reaps the child.
        kill(process.processIdentifier, SIGKILL)
    }

    /// The server's `/stats`, fetched by a separate process with a 5-second timeout (for a
    /// watchdog's report: this process's own HTTP machinery may be what is stuck).
    public var statsFromOutside: String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "python3", "-c",
            "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())",
            baseURL + "/stats",
        ]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        do { try p.run() } catch { return "stats: \(error)" }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        return "server \(baseURL) pid \(process.processIdentifier) stats: " + String(decoding: data, as: UTF8.self)
    }

    /// Changes the server's behaviour: a JSON object of the script's `/control` keys.
    public func control(_ json: String) throws {
        let body = Array(json.utf8)
        let response = try client.send(HTTPRequest(method: "POST", url: baseURL + "/control", body: body))
        guard response.status == 200 else { throw HTTPError(.status, url: baseURL, status: response.status, message: "control failed") }
    }

    /// Counters: requests, in_flight, max_in_flight, connections, inputs.
    public func stats() throws -> [String: Int] {
        let response = try client.send(HTTPRequest(url: baseURL + "/stats"))
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Int]) ?? [:]
    }

    /// The path and query string (without `?`) of the last POST to an API route (or to
    /// no route), as the server received them.
    public func lastRequest() throws -> (path: String, query: String) {
        let response = try client.send(HTTPRequest(url: baseURL + "/last_request"))
        let object = (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String]) ?? [:]
        return (object["path"] ?? "", object["query"] ?? "")
    }

    /// Zeroes the counters and drops queued faults.
    public func reset() throws {
        _ = try client.send(HTTPRequest(method: "POST", url: baseURL + "/reset", body: Array("{}".utf8)))
    }
}

/// Runs `body` on `count` new threads at once and waits for all (unlike
/// `concurrentPerform`, which runs no more at once than there are cores).
public func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = DispatchSemaphore(value: 0)
    for i in 0..<count {
        Thread.detachNewThread {
            body(i)
            done.signal()
        }
    }
    for _ in 0..<count { done.wait() }
}

/// Calls the synchronous form of an API from an async context (where Swift would pick the
/// `async` overload of the same name).
public func blocking<T>(_ body: () throws -> T) rethrows -> T { try body() }

/// A value threads and tasks can share.
public final class Shared<Value: Sendable>: Sendable {
    private let value: PosixMutex<Value>
    /// Creates a shared value.
    public init(_ value: Value) { self.value = PosixMutex(value) }
    /// Reads or changes the value under the lock.
    public func withLock<R>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}

/// The sanitizer the tests run under (`QUIVER_SANITIZER`, set by `scripts/sanitize.sh`:
/// "thread" or "address"), nil for a normal run.
public let testSanitizer: String? = ProcessInfo.processInfo.environment["QUIVER_SANITIZER"]

/// Whether this run includes the tests that must run in a process of their own
/// (`QUIVER_ISOLATED_TESTS=skip` leaves them out; `scripts/test.sh` runs the suite so, then
/// runs them one at a time). They block the cooperative pool or dispatch's threads, or
/// count connections, on purpose: beside each other and the other suites' hundreds of
/// concurrent threads, libdispatch's worker pool ran out (a pool-ingest run sent no
/// request in 120 s while 37 other threads sat in `poll`).
public let runsIsolatedTests = ProcessInfo.processInfo.environment["QUIVER_ISOLATED_TESTS"] != "skip"

/// How much longer than usual the tests' deadlock guards wait: `QUIVER_TEST_TIME_SCALE`
/// (default 1), which `scripts/sanitize.sh` raises because sanitizers slow everything down.
public let testTimeScale: Double = ProcessInfo.processInfo.environment["QUIVER_TEST_TIME_SCALE"].flatMap(Double.init) ?? 1

/// Runs `body`; if it has not finished after `seconds` (times `testTimeScale`), the test
/// process is stopped with a message (a deadlock guard, not a speed check: a deadlocked
/// cooperative pool could not run a watchdog task, so the watchdog is a thread of its own).
///
/// `diagnose` runs on the watchdog's thread before the process stops, and what it returns
/// is printed: state that says where the work stood (a server's counters, say).
public func withWatchdog<T>(
    seconds: Double, _ label: String, diagnose: (@Sendable () -> String)? = nil, _ body: () async throws -> T
) async rethrows -> T {
    let seconds = seconds * testTimeScale
    let finished = Flag()
    Thread.detachNewThread {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if finished.isSet { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        if !finished.isSet {
            FileHandle.standardError.write(Data("\(label): no progress after \(seconds) s, deadlocked (\(processThreads()))\n".utf8))
            if let diagnose { FileHandle.standardError.write(Data("\(label): \(diagnose())\n".utf8)) }
            abort()
        }
    }
    defer { finished.set() }
    return try await body()
}

/// How many threads this process has, and in which states (from /proc): what a hang
/// that may be starvation rather than a deadlock needs to be told apart.
func processThreads() -> String {
    guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return "threads unknown" }
    var states: [String: Int] = [:]
    for t in tasks {
        guard let stat = try? String(contentsOfFile: "/proc/self/task/\(t)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"), stat.index(close, offsetBy: 2) < stat.endIndex
        else { continue }
        states[String(stat[stat.index(close, offsetBy: 2)]), default: 0] += 1
    }
    return "\(tasks.count) threads: " + states.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
}

/// A flag threads can share.
public final class Flag: Sendable {
    private let value = PosixMutex(false)
    /// An unset flag.
    public init() {}
    /// Whether it was set.
    public var isSet: Bool { value.withLock { $0 } }
    /// Sets it.
    public func set() { value.withLock { $0 = true } }
}
