import ArgumentParser
import Foundation
import Ingest
import PDFParsing
import PostgresStore

/// `quiver index PATH…`: builds or updates an index.
struct Index: AsyncParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(abstract: "Build or update an index of the documents under PATH.")

    @Argument(help: "Folders or files to index (a folder's documents are named by their path under it).") var paths: [String]
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "Collection name.") var collection = "docs"
    @OptionGroup var embedderOptions: EmbedderOptions
    @Option(help: "How documents are cut into chunks.") var splitter = SplitterChoice.recursive
    @Option(help: "Chunk size (scalars; tokens for the token splitter).") var chunkSize = 800
    @Option(help: "Chunk overlap.") var chunkOverlap = 100
    @Option(help: "Texts per embedding request.") var batchSize = 64
    @Option(help: "Embedding requests in flight.") var concurrency = 16
    @Option(help: "Only files matching (glob; repeatable).") var include: [String] = []
    @Option(help: "Leave out files matching (glob; repeatable).") var exclude: [String] = []
    @Flag(help: "Delete documents whose source vanished (one folder, or the files given).") var prune = false
    @Flag(help: "Say what would be added, updated, unchanged and removed; write nothing.") var dryRun = false
    @Flag(help: "Print the report as JSON.") var json = false
    @OptionGroup var analyzerOptions: AnalyzerOptions
    @Flag(help: "Create a new collection without a keyword index (dense search only).") var noKeywordIndex = false
    @Option(
        help: ArgumentHelp(
            "How a new collection stores vectors: f32, f16 or i8 (compact ones are scanned faster and rescored from a float32 copy).",
            valueName: "encoding"))
    var encoding: VectorEncoding?
    @OptionGroup var verbosity: VerboseOptions

    func validate() throws {
        if prune && paths.count > 1 && paths.contains(where: Self.isFolder) {
            throw ValidationError(
                "--prune with a folder needs that folder alone: a folder's prune would delete the other paths' documents")
        }
        guard chunkSize > 0, chunkOverlap >= 0, chunkOverlap < chunkSize else {
            throw ValidationError("need 0 <= --chunk-overlap < --chunk-size")
        }
    }

    func run() async throws {
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            throw CLIError("no such file or folder: \(path)", hint: "give the folder of documents to index")
        }
        if paths.count > 1 { try checkDistinctIDs() }
        let found = try? await storeOptions.open(create: false).collection(collection)
        // Without --embedder, an existing collection keeps the embedder it was built with.
        let existing = embedderOptions.embedder == nil ? found : nil
        let embedder: any Embedder =
            try existing.map {
                try EmbedderOptions.remembered($0, modelDirectory: embedderOptions.modelDir, baseURL: embedderOptions.baseURL)
            }
            ?? embedderOptions.make()
        if dryRun { return try await plan(embedder) }
        let store = try storeOptions.open(create: true)
        var target: any VectorCollection
        // Analyzer flags are checked against an existing index; without them it keeps its own.
        let analyzer: AnalyzerSettings? =
            noKeywordIndex ? nil : analyzerOptions.given ? try analyzerOptions.settings() : found == nil ? .english : nil
        do {
            // A new collection records the embedder and, for a server, where it runs.
            target = try await store.openOrCreateCollection(collection, for: embedder, keywordAnalyzer: analyzer, encoding: encoding)
        } catch let e as IngestError where e.code == .embedderMismatch {
            throw CLIError(e.message, hint: "pass the same --embedder, --model and --dimensions as before, or another --collection")
        }
        let stale = (target as? LMDBCollection)?.keywordIndexProblem ?? (target as? PostgresCollection)?.keywordIndexProblem
        if let stale { FileHandle.standardError.write(Data("note: \(TerminalText.line(stale))\n".utf8)) }
        if (target.info.keywordAnalyzer == nil && !noKeywordIndex && found != nil) || stale != nil {
            // Made before keyword indexes (or by another stemmer): build its index now,
            // from the stored texts.
            let settings = try target.info.keywordAnalyzer ?? analyzerOptions.settings()
            // A new index also indexes the chunks' titles; a stale one keeps its fields.
            let fields: [String]? = target.info.keywordAnalyzer == nil ? [ChunkSchema.Key.title] : nil
            let progress = KeywordIndexProgress(label: "building the keyword index of \(TerminalText.line(collection))")
            let name = collection
            if let store = store as? Store {
                target = try await BlockingExecutor.shared.run {
                    try store.buildKeywordIndex(of: name, analyzer: settings, fields: fields) { progress.update($0, $1) }
                }
            } else if let store = store as? PostgresDatabase {
                target = try await BlockingExecutor.shared.run {
                    try store.buildKeywordIndex(of: name, analyzer: settings, fields: fields) { progress.update($0, $1) }
                }
            }
        }
        let total = try await ingest(try pipeline(target, embedder), started: Date())
        if let store = store as? Store, target.info.configuration[IVFSettings.listsKey] != nil, total.chunksWritten > 0 {
            try await retrainIVF(store)
        }
        try report(total)
    }

    /// Retrains the collection's IVF index if this run left its lists out of balance (or
    /// the collection grew 4× since it was trained), saying so and showing progress on
    /// standard error.
    func retrainIVF(_ store: Store) async throws {
        let name = collection
        let terminal = isatty(2) != 0
        let retrained = try await BlockingExecutor.shared.run {
            try store.retrainIVFIfNeeded(of: name) { done, total, phase in
                let line = "retraining the IVF index: \(phase == "train" ? "k-means iteration" : "vectors assigned") \(done)/\(total)"
                if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
            }
        }
        guard let before = retrained else { return }
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let after = try await store.collection(name).ivfStatus()
        let why = before.retrainReason ?? "it was out of date"
        let now = after.map { "\($0.lists) lists, largest \($0.largestList), nprobe \($0.nprobe)" } ?? "rebuilt"
        FileHandle.standardError.write(Data("note: retrained the IVF index (\(why)): \(now)\n".utf8))
    }

    /// The splitter the flags name (the token splitter counts in `embedder`'s tokens when
    /// it has a tokenizer).
    func textSplitter(for embedder: any Embedder) -> any TextSplitter {
        let split: any TextSplitter
        switch splitter {
        case .markdown: split = MarkdownSplitter(chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        case .sentence: split = SentenceSplitter(chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        case .token:
            // With the local model, count in its own tokens so chunks fit its window.
            let tokenizer: any Tokenizer = (embedder as? LocalEmbedder)?.tokenizer ?? WordTokenizer()
            split = TokenSplitter(chunkSize: chunkSize, chunkOverlap: chunkOverlap, tokenizer: tokenizer)
        case .character: split = CharacterSplitter(chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        case .recursive: split = RecursiveSplitter(chunkSize: chunkSize, chunkOverlap: chunkOverlap)
        }
        return split
    }

    func pipeline(_ target: any VectorCollection, _ embedder: any Embedder) throws -> IngestPipeline {
        var pipeline = IngestPipeline(collection: target, embedder: embedder, splitter: textSplitter(for: embedder))
        pipeline.loader = loader
        pipeline.batchSize = batchSize
        pipeline.concurrency = concurrency
        pipeline.prune = prune && paths.count == 1
        pipeline.dryRun = dryRun
        return pipeline
    }

    /// The standard parsers, and PDF through poppler in worker processes that are this
    /// executable (`quiver pdf-worker`).
    var loader: DocumentLoader {
        var options = DocumentLoader.Options(include: include, exclude: exclude)
        var pdf = PDFParser.Options()
        pdf.worker = .currentExecutable(arguments: [Quiver.pdfWorkerArgument])
        options.parsers.register(PDFParser(options: pdf))
        return DocumentLoader(options: options)
    }

    static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The names of the documents a path holds: a folder's supported files by their path
    /// under it, a file by its name.
    func documentNames(_ path: String) -> [String] {
        guard Self.isFolder(path) else { return [PathNames.lastComponent(path)] }
        // Files no parser claims become no document (they are reported), so they cannot clash.
        let claimed = loader.options.parsers.extensions
        return loader.walk(path).files.filter { claimed.contains(PathNames.fileExtension($0).lowercased()) }
    }

    /// Documents are named by their path under the folder given (a file by its name), so
    /// two paths may name different files alike: refused before anything is written.
    func checkDistinctIDs() throws {
        var owner: [String: String] = [:]
        for path in paths {
            for id in documentNames(path) {
                if let other = owner[id], other != path {
                    throw ValidationError(
                        "\(other) and \(path) both hold a document named \"\(id)\": index their common parent folder "
                            + "instead, or each into its own --collection")
                }
                owner[id] = path
            }
        }
    }

    /// Runs `pipeline` over every path, with the progress bar.
    func ingest(_ pipeline: IngestPipeline, started: Date) async throws -> IngestReport {
        var total = IngestReport()
        var pipeline = pipeline
        for path in paths {
            let bar = ProgressBar(label: dryRun ? "checking" : "indexing")
            pipeline.prune = prune
            let report: IngestReport
            if Self.isFolder(path) {
                report = try await pipeline.run(directory: path) { p in bar.update(p) }
            } else {
                // A single file: its id is its name; pruning concerns only it. (Not NSString's
                // path methods: they stop the process for "a" and "x//é.md".)
                let parent = PathNames.parent(path)
                report = try await pipeline.run(files: [path], root: parent.isEmpty ? nil : parent) { p in bar.update(p) }
            }
            if !json { bar.finish(report) }
            total.added += report.added
            total.updated += report.updated
            total.unchanged += report.unchanged
            total.removed += report.removed
            total.chunksWritten += report.chunksWritten
            total.failed += report.failed
            total.issues += report.issues
            total.bytes += report.bytes
        }
        total.seconds = Date().timeIntervalSince(started)
        return total
    }

    /// `--dry-run`: compares with the collection if it exists, else everything is new.
    func plan(_ embedder: any Embedder) async throws {
        let started = Date()
        let existing = try? await storeOptions.open(create: false).collection(collection)
        if let existing {
            let recorded = existing.info.configuration[Store.embedderKey]
            if recorded != nil && recorded != embedder.identifier.description {
                throw CLIError(
                    "collection \"\(collection)\" holds vectors of \(recorded ?? ""), not \(embedder.identifier)",
                    hint: "pass the same --embedder/--model/--dimensions as before, or another --collection")
            }
            return try report(try await ingest(try pipeline(existing, embedder), started: started))
        }
        var total = IngestReport()
        for path in paths {
            let loaded =
                Self.isFolder(path)
                ? await loader.load(directory: path) : await loader.load(file: path, id: PathNames.lastComponent(path))
            total.added += loaded.documents.map(\.id)
            total.issues += loaded.issues
            total.bytes += loaded.documents.reduce(0) { $0 + $1.text.utf8.count }
        }
        total.seconds = Date().timeIntervalSince(started)
        try report(total)
    }

    func report(_ total: IngestReport) throws {
        if json {
            let object: [String: Any] = [
                "added": total.added, "updated": total.updated, "unchanged": total.unchanged.count, "removed": total.removed,
                "chunks_written": total.chunksWritten, "failed": total.failed.map { ["id": $0.id, "reason": $0.reason] },
                "issues": total.issues.map { $0.description }, "seconds": total.seconds, "bytes": total.bytes,
                "dry_run": dryRun,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else if dryRun {
            print(
                "Dry run, nothing written: \(total.added.count) would be added, \(total.updated.count) updated, "
                    + "\(total.unchanged.count) unchanged, \(total.removed.count) removed.")
            for id in total.added { print("  add     \(TerminalText.line(id))") }
            for id in total.updated { print("  update  \(TerminalText.line(id))") }
            for id in total.removed { print("  remove  \(TerminalText.line(id))") }
            if verbosity.verbose { for id in total.unchanged { print("  same    \(TerminalText.line(id))") } }
        } else {
            print(TerminalText.line("Indexed \(paths.joined(separator: ", ")) into \(storeOptions.display) (\(collection)): \(total)"))
            if verbosity.verbose {
                for id in total.added { print("  added    \(TerminalText.line(id))") }
                for id in total.updated { print("  updated  \(TerminalText.line(id))") }
                for id in total.removed { print("  removed  \(TerminalText.line(id))") }
            }
        }
        if !json {
            // File names, ids and parsers' details come from the documents.
            for issue in total.issues { print("  note: \(TerminalText.line(issue.description))") }
            for f in total.failed { print("  failed: \(TerminalText.line(f.id)): \(TerminalText.line(f.reason))") }
        }
        // Exit 3 when some documents failed or some files could not be read, 1 when
        // nothing at all was indexed.
        let unread = total.issues.filter(\.isFailure)
        if !total.failed.isEmpty || !unread.isEmpty {
            let stored = total.added.count + total.updated.count + total.unchanged.count
            if stored == 0 {
                if let first = total.failed.first {
                    throw CLIError(
                        "no document was indexed: \(first.reason)",
                        hint: "is the embedding server running? Check --base-url, OPENAI_BASE_URL or OLLAMA_HOST, and the model")
                }
                throw CLIError(
                    "no document was indexed: \(unread[0])" + (unread.count > 1 ? " (and \(unread.count - 1) more)" : ""),
                    hint: "check that the files are readable by this user, and their size and format")
            }
            throw ExitCode(3)
        }
    }
}
