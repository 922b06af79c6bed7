import Foundation
import Testing

@testable import PDFParsing

@Suite struct WorkerEnvironmentTests {
    /// The environment of process `pid`, from /proc.
    static func environment(of pid: Int32) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))
        var out: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let eq = text.firstIndex(of: "=") else { continue }
            out[String(text[..<eq])] = String(text[text.index(after: eq)...])
        }
        return out
    }

    @Test func workersGetTheAllocatorSettingsUnlessTheirEnvironmentNamesItsOwn() throws {
        let worker = try WorkerProcess.spawn(PDFFixtures.worker)
        defer { worker.stop() }
        // A test run started with its own GLIBC_TUNABLES passes them on, as any application's.
        let inherited = ProcessInfo.processInfo.environment["GLIBC_TUNABLES"]
        #expect(try Self.environment(of: worker.pid)["GLIBC_TUNABLES"] == inherited ?? "glibc.malloc.tcache_count=2000")

        var command = try PDFFixtures.worker
        command.environment["GLIBC_TUNABLES"] = "glibc.malloc.tcache_count=7"
        let own = try WorkerProcess.spawn(command)
        defer { own.stop() }
        #expect(try Self.environment(of: own.pid)["GLIBC_TUNABLES"] == "glibc.malloc.tcache_count=7")
    }
}
