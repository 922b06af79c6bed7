import Foundation
import Ingest
import PDFParsing
import Testing
import QuiverCore

#if canImport(Glibc)
    import Glibc
#endif

/// Crashes, hangs and dead workers: each costs its file alone, and the parser goes on with
/// a fresh worker.
@Suite struct WorkerProcessTests {
    /// report.pdf with a fault marker as a comment after its header line.
    static func faulty(_ fault: String) throws -> [UInt8] {
        let pdf = try PDFFixtures.bytes("report.pdf")
        let header = pdf.firstIndex(of: 0x0A).map { $0 + 1 } ?? 0
        return Array(pdf[..<header]) + Array("%QuiverFault:\(fault)\n".utf8) + Array(pdf[header...])
    }

    static func parse(_ bytes: [UInt8], id: String, with parser: PDFParser) throws -> DocumentLoader.Result {
        try parser.parse(ParseInput(bytes: bytes, id: id, fileExtension: "pdf"))
    }

    @Test func aCrashingWorkerIsReplaced() throws {
        let parser = try PDFFixtures.parser(faults: true)
        let error = #expect(throws: LoadIssue.self) { try Self.parse(try Self.faulty("crash"), id: "boom.pdf", with: parser) }
        #expect(error?.kind == .crashed)
        #expect(error?.path == "boom.pdf")
        #expect(try Self.parse(try PDFFixtures.bytes("report.pdf"), id: "report.pdf", with: parser).documents.count == 4)
    }

    @Test func aHangingWorkerIsKilledAtTheTimeLimit() throws {
        let parser = try PDFFixtures.parser(faults: true, timeLimit: .milliseconds(500))
        let error = #expect(throws: LoadIssue.self) { try Self.parse(try Self.faulty("hang"), id: "stuck.pdf", with: parser) }
        #expect(error?.kind == .timedOut)
        #expect(error?.path == "stuck.pdf")
        #expect(error?.isFailure == true)
        #expect(try Self.parse(try PDFFixtures.bytes("report.pdf"), id: "report.pdf", with: parser).documents.count == 4)
    }

    @Test func manyFilesAtOnceWithHostileOnesAmongThem() throws {
        let parser = try PDFFixtures.parser(faults: true, timeLimit: .seconds(2))
        let report = try PDFFixtures.bytes("report.pdf")
        let inputs: [(String, [UInt8])] =
            (0..<6).map { ("good\($0).pdf", report) } + [
                ("crash.pdf", try Self.faulty("crash")), ("hang.pdf", try Self.faulty("hang")),
                ("corrupt.pdf", try PDFFixtures.bytes("corrupt.pdf")), ("encrypted.pdf", try PDFFixtures.bytes("encrypted.pdf")),
                ("scanned.pdf", try PDFFixtures.bytes("scanned.pdf")),
            ]
        let outcomes = PosixMutex([String: String]())
        DispatchQueue.concurrentPerform(iterations: inputs.count) { i in
            let (id, bytes) = inputs[i]
            let outcome: String
            do {
                outcome = "\(try Self.parse(bytes, id: id, with: parser).documents.count) pages"
            } catch let issue as LoadIssue {
                outcome = issue.kind.rawValue
            } catch {
                outcome = "\(error)"
            }
            outcomes.withLock { $0[id] = outcome }
        }
        let got = outcomes.withLock { $0 }
        for i in 0..<6 { #expect(got["good\(i).pdf"] == "4 pages") }
        #expect(got["crash.pdf"] == "crashed")
        #expect(got["hang.pdf"] == "timedOut")
        #expect(got["corrupt.pdf"] == "unreadable")
        #expect(got["encrypted.pdf"] == "encrypted")
        #expect(got["scanned.pdf"] == "noText")
    }

    /// A worker that died while idle (killed by someone else) is replaced without a word:
    /// it says nothing about the next file.
    @Test func anIdleWorkerKilledMeanwhileIsReplacedSilently() throws {
        let parser = try PDFFixtures.parser()
        #expect(try PDFFixtures.parse("report.pdf", with: parser).documents.count == 4)
        let pids = parser.idleWorkerIDs
        #expect(pids.count == 1)
        for pid in pids { kill(pid, SIGKILL) }
        #expect(try PDFFixtures.parse("report.pdf", with: parser).documents.count == 4)
        #expect(parser.idleWorkerIDs.count == 1 && parser.idleWorkerIDs != pids)
    }

    @Test func aMissingWorkerExecutableIsAClearError() throws {
        var options = PDFParser.Options()
        options.worker = PDFWorkerCommand(executable: "/nonexistent/quiver-pdf-worker")
        let error = #expect(throws: LoadIssue.self) { try PDFFixtures.parse("report.pdf", with: PDFParser(options: options)) }
        #expect(error?.kind == .unreadable)
        #expect(error?.detail.contains("/nonexistent/quiver-pdf-worker") == true)
    }
}
