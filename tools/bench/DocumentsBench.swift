import ArgumentParser
import Foundation
import Ingest
import PDFParsing
import Synthetic
import QuiverCore

/// `quiver-bench documents`: PDF pages per second on all cores (PDFParser, its worker
/// processes included) against `pdftotext` run over the same files at the same
/// concurrency in the same run; then the peak anonymous memory (RssAnon, sampled) of this
/// process while it indexes one 10,000-page PDF with the hashing embedder, and the PDF
/// worker's own peak.
struct DocumentsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "documents", abstract: "Benchmark document parsing (PDF) against pdftotext, and memory on a long PDF.")

    @Option(help: "Generated PDFs for the throughput figures.") var files = 16
    @Option(help: "Pages per generated PDF.") var pagesPerFile = 250
    @Option(help: "Pages of the long PDF that is indexed (0: skip).") var longPages = 10_000
    @Option(help: "Rounds of the PDF comparison (each side keeps its best).") var rounds = 3
    @Option(help: "Generated DOCX files.") var docxFiles = 8
    @Option(help: "Paragraphs per generated DOCX.") var docxParagraphs = 20_000
    @Option(help: "Work directory (default: a temporary one, removed afterwards).") var dir: String?
    @Flag(help: "Print one flat JSON object.") var json = false

    func run() async throws {
        let root = dir ?? NSTemporaryDirectory() + "quiver-documents-bench-\(UUID().uuidString)"
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
        let folder = root + "/pdf"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let paths = (0..<files).map { "\(folder)/file\($0).pdf" }
        for (i, path) in paths.enumerated() {
            try Data(SyntheticPDF.make(pages: pagesPerFile, seed: UInt64(i + 1))).write(to: URL(fileURLWithPath: path))
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let pages = Double(files * pagesPerFile)

        // Quiver: the loader's parse of each file, files spread over all cores as the
        // pipeline spreads them (a worker process per file in flight).
        let loader = Self.loader()
        let warm = await loader.load(file: paths[0])  // workers started once, as in a long run
        guard warm.issues.isEmpty else { throw ValidationError("the PDF parser failed: \(warm.issues)") }
        // Off the cooperative pool: the threads below block. Rounds alternate Quiver and
        // pdftotext, and each keeps its best, so load from elsewhere on the machine
        // weighs on both alike.
        let (quiverSeconds, parsed, referenceSeconds) = await BlockingExecutor.shared.run {
            var best = (quiver: Double.infinity, reference: Double.infinity)
            let parsed = PosixMutex(0)
            for _ in 0..<rounds {
                parsed.withLock { $0 = 0 }
                let t0 = Machine.now()
                DispatchQueue.concurrentPerform(iterations: paths.count) { i in
                    let n = (loader.load(file: paths[i]) as DocumentLoader.Result).documents.count
                    parsed.withLock { $0 += n }
                }
                best.quiver = min(best.quiver, Machine.now() - t0)
                let t1 = Machine.now()
                DispatchQueue.concurrentPerform(iterations: paths.count) { i in Self.pdftotext(paths[i]) }
                best.reference = min(best.reference, Machine.now() - t1)
            }
            return (best.quiver, parsed.withLock { $0 }, best.reference)
        }

        var out: [(String, Double)] = [
            ("load_1min", Machine.load()), ("cores", Double(cores)), ("pdf_files", Double(files)), ("pdf_pages", pages),
            ("pdf_pages_parsed", Double(parsed)),
            ("pdf_pages_per_s", pages / quiverSeconds), ("pdftotext_pages_per_s", pages / referenceSeconds),
            ("pdf_vs_pdftotext", referenceSeconds / quiverSeconds),
        ]
        out += try await Self.docx(files: docxFiles, paragraphs: docxParagraphs)
        if longPages > 0 { out += try await Self.longPDF(pages: longPages, root: root) }
        if json {
            print(Machine.json(out))
        } else {
            for (k, v) in out { print(k.padding(toLength: 28, withPad: " ", startingAt: 0), StoreBench.format(v)) }
        }
    }

    /// DOCX MB/s (file bytes) on all cores, next to the same run's reference: libarchive
    /// only inflating the same entries (the container's own cost, without the XML).
    static func docx(files: Int, paragraphs: Int) async throws -> [(String, Double)] {
        let docs = try (0..<files).map { try SyntheticDOCX.make(paragraphs: paragraphs, seed: UInt64($0 + 1)) }
        let bytes = Double(docs.reduce(0) { $0 + $1.count })
        return await BlockingExecutor.shared.run {
            let parser = DOCXParser()
            let characters = PosixMutex(0)
            let t0 = Machine.now()
            DispatchQueue.concurrentPerform(iterations: docs.count) { i in
                let n = (try? parser.parse(ParseInput(bytes: docs[i], id: "d\(i).docx")))?.documents.first?.text.utf8.count ?? 0
                characters.withLock { $0 += n }
            }
            let seconds = Machine.now() - t0
            let t1 = Machine.now()
            let inflated = PosixMutex(0)
            DispatchQueue.concurrentPerform(iterations: docs.count) { i in
                let n = (try? ZipArchive(bytes: docs[i]) { $0.hasPrefix("word/") })?.entries.values.reduce(0) { $0 + $1.count } ?? 0
                inflated.withLock { $0 += n }
            }
            let reference = Machine.now() - t1
            return [
                ("docx_files", Double(files)), ("docx_mb", bytes / 1e6), ("docx_xml_mb", Double(inflated.withLock { $0 }) / 1e6),
                ("docx_text_mb", Double(characters.withLock { $0 }) / 1e6), ("docx_mb_per_s", bytes / 1e6 / seconds),
                ("inflate_only_mb_per_s", bytes / 1e6 / reference), ("docx_vs_inflate_only", reference / seconds),
            ]
        }
    }

    /// A loader whose PDF workers are this executable (`quiver-bench pdf-worker`).
    static func loader() -> DocumentLoader {
        var options = DocumentLoader.Options()
        var pdf = PDFParser.Options()
        pdf.worker = .currentExecutable(arguments: [ServePDF.configuration.commandName ?? "pdf-worker"])
        pdf.timeLimit = .seconds(600)
        options.parsers.register(PDFParser(options: pdf))
        return DocumentLoader(options: options)
    }

    static func pdftotext(_ path: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/pdftotext")
        p.arguments = ["-q", "-enc", "UTF-8", path, "/dev/null"]
        try? p.run()
        p.waitUntilExit()
    }

    /// Indexes one long PDF (hashing embedder), sampling this process's RssAnon.
    static func longPDF(pages: Int, root: String) async throws -> [(String, Double)] {
        let folder = root + "/long"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let bytes = SyntheticPDF.make(pages: pages, seed: 99)
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/long.pdf"))
        let sampler = PeakSampler()
        let baseline = PeakSampler.rssAnonMB()
        sampler.start()
        let store = try Store(path: root + "/store")
        let embedder = HashingEmbedder(dimension: 384)
        var pipeline = IngestPipeline(
            collection: try await store.openOrCreateCollection("bench", for: embedder), embedder: embedder,
            splitter: RecursiveSplitter(chunkSize: 800, chunkOverlap: 80))
        let loader = Self.loader()
        pipeline.loader = loader
        let t0 = Machine.now()
        let report = try await pipeline.run(directory: folder)
        let seconds = Machine.now() - t0
        sampler.stop()
        let worker = loader.options.parsers.parsers.compactMap { ($0 as? PDFParser)?.idleWorkerIDs.first }.first
        return [
            ("long_pdf_pages", Double(pages)), ("long_pdf_mb", Double(bytes.count) / 1e6),
            ("long_pdf_documents", Double(report.added.count)), ("long_pdf_chunks", Double(report.chunksWritten)),
            ("long_pdf_index_seconds", seconds), ("long_pdf_pages_per_s", Double(pages) / seconds),
            ("peak_rss_anon_mb", sampler.peakMB), ("baseline_rss_anon_mb", baseline),
            ("worker_peak_rss_mb", worker.map(Self.peakRSS) ?? -1),
        ]
    }

    /// VmHWM (peak resident set) of process `pid`, in MB.
    static func peakRSS(_ pid: Int32) -> Double {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return -1 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (line.split(separator: " ").compactMap { Double($0) }.first ?? 0) / 1024
        }
        return -1
    }
}

/// `quiver-bench pdf-worker`: this executable as the benchmark's PDF worker (not a benchmark).
struct ServePDF: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pdf-worker", shouldDisplay: false)
    func run() { PDFWorker.serve() }
}

/// A Word document of seeded prose written directly (document.xml, styles.xml, and the
/// package parts), deflated with `ZipArchive.make`: headings every 20 paragraphs, a
/// bulleted list item every 7th, a table every 200.
enum SyntheticDOCX {
    static func make(paragraphs: Int, seed: UInt64) throws -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        let words = ["keeper", "lamp", "lens", "tower", "fog", "signal", "relief", "boat", "storm", "oil", "wick", "log"]
        func sentence() -> String { (0..<(12 + Int(rng.next() % 20))).map { _ in words[Int(rng.next() % 12)] }.joined(separator: " ") }
        var xml =
            #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#
        for i in 0..<paragraphs {
            if i % 200 == 199 {
                xml += "<w:tbl>"
                for _ in 0..<4 {
                    xml +=
                        "<w:tr>"
                        + (0..<3).map { _ in "<w:tc><w:p><w:r><w:t>\(words[Int(rng.next() % 12)])</w:t></w:r></w:p></w:tc>" }.joined()
                        + "</w:tr>"
                }
                xml += "</w:tbl>"
            }
            let style =
                i % 20 == 0
                ? #"<w:pPr><w:pStyle w:val="Heading1"/></w:pPr>"#
                : i % 7 == 0 ? #"<w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr>"# : ""
            xml += "<w:p>\(style)<w:r><w:t xml:space=\"preserve\">\(sentence()). </w:t></w:r><w:r><w:t>\(sentence()).</w:t></w:r></w:p>"
        }
        xml += "</w:body></w:document>"
        let styles =
            #"<?xml version="1.0"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style></w:styles>"#
        let types =
            #"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#
        return try ZipArchive.make([
            ("[Content_Types].xml", Array(types.utf8)), ("word/document.xml", Array(xml.utf8)), ("word/styles.xml", Array(styles.utf8)),
        ])
    }
}
