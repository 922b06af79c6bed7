import ArgumentParser
import Foundation
import HTTP

/// A loopback server as a child process for a benchmark (`tools/testserver/embedding_server.py`,
/// or `async_server.py` with `script`); killed when this value goes away (the async server's
/// workers follow their first process).
final class LoopbackProcess {
    let port: Int
    private let process: Process

    /// Starts a server; `arguments` are more of its options (`--max-inputs`, `--chat-latency-ms`).
    init(latencyMs: Int, arguments: [String] = [], script name: String = "embedding_server.py") throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("testserver/" + name).path
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--port", "0", "--latency-ms", "\(latencyMs)"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            throw ValidationError("the loopback server did not start: \(line)")
        }
        self.port = port
    }

    deinit { kill(process.processIdentifier, SIGKILL) }

    /// CPU seconds (user + system) the server (with its worker processes) has used so far,
    /// from `/proc`: what a stretch of the run cost the server is the difference of two readings.
    var cpuSeconds: Double {
        let pid = process.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return ([pid] + children.split(separator: " ").compactMap { Int32($0) }).reduce(0) { $0 + Self.cpuSeconds(of: $1) }
    }

    private static func cpuSeconds(of pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        // Fields after the command name (which may hold spaces): state is field 3; utime and stime are 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Seconds `client` takes to send every request, `concurrency` in flight: what a bare
    /// client gets from the server (prebuilt bodies, no parsing, no retries).
    static func sendAll(_ requests: [HTTPRequest], concurrency: Int, client: HTTPClient) async throws -> Double {
        let t0 = Machine.now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            var inFlight = 0
            while next < requests.count || inFlight > 0 {
                while next < requests.count && inFlight < concurrency {
                    let r = requests[next]
                    group.addTask { _ = try await client.send(r) }
                    next += 1
                    inFlight += 1
                }
                try await group.next()
                inFlight -= 1
            }
        }
        return Machine.now() - t0
    }
}
