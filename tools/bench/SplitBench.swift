import ArgumentParser
import Foundation
import Ingest

/// `quiver-bench split`: splitter throughput on one thread and on all cores over a corpus
/// (generated Markdown and prose by default), next to LangChain's
/// `RecursiveCharacterTextSplitter` on the same files in the same run.
struct SplitBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "split", abstract: "Benchmark the splitters (and LangChain's).")

    @Option(help: "Corpus folder of .md/.txt files (default: generate --mb of Markdown).") var corpus: String?
    @Option(help: "Size of the generated corpus in MB.") var mb = 20
    @Flag(help: "Skip the LangChain comparison.") var noLangchain = false
    @Option(help: "Only this splitter (recursive, character, sentence, markdown, token).") var only: String?
    @Flag(help: "Print one flat JSON object.") var json = false

    func run() throws {
        var root: String?
        let folder: String
        if let corpus {
            folder = corpus
        } else {
            let dir = NSTemporaryDirectory() + "quiver-split-bench-\(UUID().uuidString)"
            root = dir
            folder = dir + "/corpus"
            _ = try Corpus.generate(at: folder, mb: mb, documentBytes: 20_000)
        }
        defer { if let root { try? FileManager.default.removeItem(atPath: root) } }
        let files = DocumentLoader(options: .init(include: ["*.md", "*.txt"])).walk(folder).files
        let texts = try files.map { try String(contentsOfFile: (folder as NSString).appendingPathComponent($0), encoding: .utf8) }
        let megabytes = Double(texts.reduce(0) { $0 + $1.utf8.count }) / 1e6

        var out: [(String, Double)] = [("load_1min", Machine.load()), ("corpus_mb", megabytes)]
        let splitters: [(String, any TextSplitter)] = [
            ("recursive", RecursiveSplitter(chunkSize: 1000, chunkOverlap: 200)),
            ("character", CharacterSplitter(chunkSize: 1000, chunkOverlap: 200)),
            ("sentence", SentenceSplitter(chunkSize: 1000, chunkOverlap: 200)),
            ("markdown", MarkdownSplitter(chunkSize: 1000, chunkOverlap: 200)),
            ("token", TokenSplitter(chunkSize: 256, chunkOverlap: 50)),
        ]
        for (name, splitter) in splitters where only == nil || only == name {
            var best1 = Double.infinity
            var bestAll = Double.infinity
            var chunks = 0
            for _ in 0..<3 {
                var t = Machine.now()
                chunks = texts.reduce(0) { $0 + splitter.split($1).count }
                best1 = min(best1, Machine.now() - t)
                t = Machine.now()
                _ = texts.split(with: splitter)
                bestAll = min(bestAll, Machine.now() - t)
            }
            out += [
                ("\(name)_mb_per_s", megabytes / best1), ("\(name)_all_cores_mb_per_s", megabytes / bestAll),
                ("\(name)_chunks", Double(chunks)),
            ]
        }
        if !noLangchain {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("langchain_split.py").path
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", script, folder]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let result = (try? JSONSerialization.jsonObject(with: data)) as? [String: Double]
            if p.terminationStatus == 0, let lc = result?["langchain_mb_per_s"] {
                let ours = out.first { $0.0 == "recursive_mb_per_s" }?.1 ?? 0
                out += [
                    ("langchain_mb_per_s", lc), ("langchain_chunks", result?["langchain_chunks"] ?? 0),
                    ("recursive_vs_langchain", ours / lc),
                ]
            } else {
                FileHandle.standardError.write(Data("LangChain comparison skipped: pip install langchain-text-splitters\n".utf8))
            }
        }
        if json {
            print("{" + out.map { "\"\($0.0)\": \(StoreBench.format($0.1))" }.joined(separator: ", ") + "}")
        } else {
            for (k, v) in out { print(k.padding(toLength: 30, withPad: " ", startingAt: 0), StoreBench.format(v)) }
        }
    }
}
