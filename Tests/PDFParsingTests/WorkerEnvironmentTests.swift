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

    @Test func theAllocatorSettingsApplyUnlessTheEnvironmentOrTheCommandNamesItsOwn() {
        let command = PDFWorkerCommand(executable: "/bin/true", environment: ["A": "command"])
        let plain = WorkerProcess.environment(of: command, inheriting: ["A": "inherited", "B": "inherited"])
        #expect(plain == ["A": "command", "B": "inherited", "GLIBC_TUNABLES": "glibc.malloc.tcache_count=2000"])
        let inherited = WorkerProcess.environment(of: command, inheriting: ["GLIBC_TUNABLES": "glibc.malloc.tcache_count=7"])
        #expect(inherited == ["A": "command", "GLIBC_TUNABLES": "glibc.malloc.tcache_count=7"])
        var own = command
        own.environment["GLIBC_TUNABLES"] = "glibc.malloc.mxfast=0"
        #expect(WorkerProcess.environment(of: own, inheriting: [:])["GLIBC_TUNABLES"] == "glibc.malloc.mxfast=0")
    }

    /// Through a parser, after a file was read: the worker was started and serves.
    @Test func workersGetTheAllocatorSettingsUnlessTheirEnvironmentNamesItsOwn() throws {
        // A test run started with its own GLIBC_TUNABLES passes them on, as any application's.
        let inherited = ProcessInfo.processInfo.environment["GLIBC_TUNABLES"]
        for (own, expected) in [
            (nil, inherited ?? "glibc.malloc.tcache_count=2000"), ("glibc.malloc.tcache_count=7", "glibc.malloc.tcache_count=7"),
        ] {
            let parser = try PDFFixtures.parser { if let own { $0.worker.environment["GLIBC_TUNABLES"] = own } }
            #expect(try PDFFixtures.parse("report.pdf", with: parser).documents.count == 4)
            let pid = try #require(parser.idleWorkerIDs.first)
            let seen = try Self.environment(of: pid)
            #expect(seen["GLIBC_TUNABLES"] == expected, "worker \(pid): \(seen.count) variables")
        }
    }
}
