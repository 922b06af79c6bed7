import Foundation
import Ingest
import PDFParsing
import TestSupport

/// The committed PDF fixtures (tools/documents/make_fixtures.py writes them) and parsers
/// that use the built worker.
enum PDFFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    /// The `quiver-pdf-worker` built beside the tests.
    static var worker: PDFWorkerCommand {
        get throws {
            guard let path = BuiltProducts.executable("quiver-pdf-worker") else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "quiver-pdf-worker is not built beside the tests"])
            }
            return PDFWorkerCommand(executable: path)
        }
    }

    /// A parser using the built worker; `faults` lets fixtures crash or hang it.
    static func parser(faults: Bool = false, timeLimit: Duration = .seconds(60), configure: (inout PDFParser.Options) -> Void = { _ in })
        throws -> PDFParser
    {
        var options = PDFParser.Options()
        options.worker = try worker
        if faults { options.worker.environment[PDFWorker.faultsVariable] = "1" }
        options.timeLimit = timeLimit
        configure(&options)
        return PDFParser(options: options)
    }

    static func parse(_ name: String, with parser: PDFParser) throws -> DocumentLoader.Result {
        try parser.parse(ParseInput(bytes: bytes(name), id: name, metadata: ["source": .string(name)], fileExtension: "pdf"))
    }

    /// `pdftotext` (poppler-utils) on a fixture: the reference text.
    static func pdftotext(_ name: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/pdftotext")
        p.arguments = ["-q", "-enc", "UTF-8", path(name), "-"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
