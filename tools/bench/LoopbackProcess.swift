import ArgumentParser
import Foundation
import HTTP

/// The loopback embedding server (`tools/testserver/embedding_server.py`) as a child
/// process for a benchmark; killed when this value goes away.
final class LoopbackProcess {
    let port: Int
    private let process: Process

    /// Starts a server; `arguments` are more of its options (`--max-inputs`, `--chat-latency-ms`).
    init(latencyMs: Int, arguments: [String] = []) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("testserver/embedding_server.py").path
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
