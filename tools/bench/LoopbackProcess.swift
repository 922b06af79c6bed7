import ArgumentParser
import Foundation

/// The loopback embedding server (`tools/testserver/embedding_server.py`) as a child
/// process for a benchmark; killed when this value goes away.
final class LoopbackProcess {
    let port: Int
    private let process: Process

    init(latencyMs: Int) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("testserver/embedding_server.py").path
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--port", "0", "--latency-ms", "\(latencyMs)"]
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
}
