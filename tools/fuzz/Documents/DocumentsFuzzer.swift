import Foundation
import FuzzDriver
import Ingest

/// libFuzzer target for the document loaders, parsers and splitters.
///
/// An input is a file: its first byte picks the extension (and so the parser), the
/// invalid-UTF-8 policy, the CSV mode and the chunk sizes; the rest is the file's content.
/// The file goes through `DocumentLoader.load(file:)` and every document it gives through
/// every splitter. A crash, a hang or a chunk whose text is not its source range fails.
///
/// Run by `scripts/fuzz.sh`; a normal build replays inputs named on the command line.
enum DocumentsFuzzer {
    static let extensions = ["txt", "md", "html", "json", "jsonl", "csv", "", "htm", "markdown", "ndjson"]

    /// One scratch folder per process: libFuzzer runs inputs one after another.
    static let directory: String = {
        let dir = NSTemporaryDirectory() + "quiver-fuzz-documents-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    static func run(_ input: [UInt8]) {
        guard let selector = input.first else { return }
        let ext = extensions[Int(selector & 0x0F) % extensions.count]
        let path = directory + "/input" + (ext.isEmpty ? "" : "." + ext)
        guard FileManager.default.createFile(atPath: path, contents: Data(input.dropFirst())) else {
            fatalError("cannot write \(path)")
        }
        var options = DocumentLoader.Options()
        options.invalidUTF8 = selector & 0x10 == 0 ? .repair : .reject
        options.csv = selector & 0x20 == 0 ? .rowPerDocument(textColumns: nil) : .wholeFile
        let result = DocumentLoader(options: options).load(file: path, id: "input")
        // Small limits, so that short inputs make several chunks.
        let size = 1 + Int(selector >> 6) * 7
        let splitters: [any TextSplitter] = [
            RecursiveSplitter(chunkSize: size, chunkOverlap: size / 3),
            MarkdownSplitter(chunkSize: size, chunkOverlap: size / 3),
            SentenceSplitter(chunkSize: size, chunkOverlap: size / 3),
            TokenSplitter(chunkSize: size, chunkOverlap: size / 3),
            CharacterSplitter(chunkSize: size, chunkOverlap: size / 3, separator: "\n"),
        ]
        for document in result.documents {
            let source = Array(document.text.utf8)
            for splitter in splitters {
                for chunk in splitter.split(document.text) {
                    guard chunk.range.lowerBound >= 0, chunk.range.upperBound <= source.count else {
                        fatalError("\(type(of: splitter)): chunk range \(chunk.range) outside \(source.count) bytes")
                    }
                    guard Array(chunk.text.utf8) == Array(source[chunk.range]) else {
                        fatalError("\(type(of: splitter)): chunk text is not the source's bytes in \(chunk.range)")
                    }
                }
            }
        }
    }
}

/// The fuzzer's driver when built with `-DQUIVER_LIBFUZZER`, else a replay of the inputs
/// named on the command line.
@main
enum FuzzDocumentsMain {
    static func main() {
        FuzzDriver.main(name: "quiver-fuzz-documents") { DocumentsFuzzer.run($0) }
    }
}
