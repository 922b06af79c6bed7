import Foundation

/// Executables built beside the test bundle (`swift build --build-tests` builds them).
public enum BuiltProducts {
    /// The path of a built executable, or nil with the places searched.
    public static func executable(_ name: String) -> String? {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = me.deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}

/// What a finished child process printed.
public struct ProcessOutput: Sendable {
    /// The exit status.
    public var status: Int32
    /// Standard output.
    public var out: String
    /// Standard error.
    public var err: String
}

/// Runs the built `quiver` (or another product, or `python3`) with `arguments`, feeding `input` to its
/// stdin, and waits. `environment` entries are added to (or, as "", removed from) this
/// process's environment; `directory` is its working directory (else this process's).
/// `whileRunning` is called with the process once it started.
public func runProduct(
    _ arguments: [String], product name: String = "quiver", input: String? = nil, environment: [String: String] = [:],
    in directory: String? = nil, whileRunning: ((Process) -> Void)? = nil
) throws -> ProcessOutput {
    guard let binary = name == "python3" ? "/usr/bin/python3" : BuiltProducts.executable(name) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "\(name) is not built beside the tests"])
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v.isEmpty ? nil : v }
    p.environment = env
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    let stdin = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = stdin
    try p.run()
    // Read both pipes on their own threads, so a full pipe never blocks the child.
    let outData = Shared(Data())
    let errData = Shared(Data())
    let done = DispatchSemaphore(value: 0)
    for (pipe, sink) in [(out, outData), (err, errData)] {
        Thread.detachNewThread {
            let d = pipe.fileHandleForReading.readDataToEndOfFile()
            sink.withLock { $0 = d }
            done.signal()
        }
    }
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    whileRunning?(p)
    try? stdin.fileHandleForWriting.close()
    done.wait()
    done.wait()
    p.waitUntilExit()
    return ProcessOutput(
        status: p.terminationStatus, out: String(decoding: outData.withLock { $0 }, as: UTF8.self),
        err: String(decoding: errData.withLock { $0 }, as: UTF8.self))
}
