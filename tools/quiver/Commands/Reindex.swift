import ArgumentParser
import Foundation
import PostgresStore
import Query

/// `quiver reindex --keyword`: builds (or rebuilds) a collection's keyword index from the
/// texts it holds, without embedding anything again, in an embedded store or a PostgreSQL
/// database. `quiver reindex --ivf`: builds (or
/// retrains) its partitioned (IVF) vector index.
struct Reindex: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build or rebuild a collection's keyword (BM25) index from its stored texts, or its IVF vector index.",
        discussion: """
            Collections indexed before keyword search existed have no keyword index: this builds one, with \
            progress, in one transaction (searches see the old state until it commits). With analyzer flags it \
            rebuilds the index with another language or settings. No text is embedded again.

            --ivf trains k-means centroids (about √N lists, or --lists) on a sample of the stored vectors and moves \
            every vector into its list, in chunks that never block readers; later writes are scanned until enough \
            of them wait, then a write moves them all into their lists. Run it again to retrain when `quiver stats` says the lists are out of balance.
            """)
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "Collection name.") var collection = "docs"
    @Flag(help: "Build the keyword index.") var keyword = false
    @Flag(help: "Build or retrain the IVF (partitioned) vector index.") var ivf = false
    @Option(help: "IVF lists (default: about the square root of the number of vectors).") var lists: Int?
    @Option(help: "The collection's default IVF lists probed per query (default: lists/12, at least 8).") var nprobe: Int?
    @Flag(help: "Remove the index named (--keyword or --ivf) instead.") var drop = false
    @OptionGroup var analyzerOptions: AnalyzerOptions
    @Option(
        help: ArgumentHelp(
            "Metadata fields indexed with each chunk's text, comma-separated (\"\" for the text alone).",
            discussion: "Default: the fields the index was made with, or \"title\" for a collection without one.",
            valueName: "fields")) var keywordFields: String?
    @OptionGroup var verbosity: VerboseOptions

    func validate() throws {
        guard keyword || ivf else { throw ValidationError("say what to rebuild: --keyword or --ivf (with --drop to remove it)") }
        guard !(keyword && ivf) else { throw ValidationError("rebuild one index at a time: --keyword or --ivf") }
        if let lists, lists < 1 { throw ValidationError("--lists must be at least 1, got \(lists)") }
        if let nprobe, nprobe < 1 { throw ValidationError("--nprobe must be at least 1, got \(nprobe)") }
        if (lists != nil || nprobe != nil) && !ivf { throw ValidationError("--lists and --nprobe go with --ivf") }
    }

    func run() throws {
        if storeOptions.isPostgres && ivf {
            throw CLIError(
                "`quiver reindex --ivf` builds the embedded store's IVF index; \(storeOptions.display) is a PostgreSQL database",
                hint: "its collections have pgvector's HNSW index (PostgresDatabase.buildHNSWIndex), or give --store DIR")
        }
        let name = collection
        let existing: any VectorCollection
        let build: (AnalyzerSettings, [String]?, @escaping (Int, Int) -> Void) throws -> any VectorCollection
        let dropIndex: () throws -> Bool
        if storeOptions.isPostgres {
            let db = try PostgresDatabase(url: storeOptions.path)
            existing = try db.collection(name)
            build = { try db.buildKeywordIndex(of: name, analyzer: $0, fields: $1, progress: $2) }
            dropIndex = { try db.dropKeywordIndex(of: name) }
        } else {
            let store = try Store(path: storeOptions.path, options: .noCreate)
            existing = try store.collection(name)
            if ivf { return try runIVF(store) }
            build = { try store.buildKeywordIndex(of: name, analyzer: $0, fields: $1, progress: $2) }
            dropIndex = { try store.dropKeywordIndex(of: name) }
        }
        if drop {
            let had = try dropIndex()
            print(
                had ? "\(TerminalText.line(collection)): keyword index removed" : "\(TerminalText.line(collection)): had no keyword index")
            return
        }
        let settings =
            try analyzerOptions.given ? analyzerOptions.settings() : existing.info.keywordAnalyzer ?? analyzerOptions.settings()
        let progress = KeywordIndexProgress(label: "keyword index of \(TerminalText.line(collection))")
        let started = Date()
        let fields: [String]? =
            keywordFields.map { KeywordIndexSettings.fields($0) } ?? (existing.info.keywordAnalyzer == nil ? [ChunkSchema.Key.title] : nil)
        let rebuilt = try build(settings, fields) { progress.update($0, $1) }
        let count = try rebuilt.count()
        let indexed = rebuilt.info.keywordFields.isEmpty ? "" : ", fields " + rebuilt.info.keywordFields.joined(separator: ",")
        print(
            String(
                format: "%@: keyword index built over %d chunks in %.1f s (analyzer %@%@)", TerminalText.line(collection), count,
                Date().timeIntervalSince(started), settings.identifier, indexed))
    }

    private func runIVF(_ store: Store) throws {
        let name = TerminalText.line(collection)
        if drop {
            print(try store.dropIVFIndex(of: collection) ? "\(name): IVF index removed" : "\(name): had no IVF index")
            return
        }
        let started = Date()
        let terminal = isatty(2) != 0
        let built = try store.buildIVFIndex(of: collection, lists: lists, nprobe: nprobe) { done, total, phase in
            let line = "IVF index of \(name): \(phase == "train" ? "k-means iteration" : "vectors assigned") \(done)/\(total)"
            FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K\(line)" : "\(line)\n").utf8))
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        guard let status = try built.ivfStatus() else { throw ValidationError("the IVF index of \(name) was not built") }
        print(
            String(
                format: "%@: IVF index of %d lists over %d vectors in %.1f s (largest list %d, nprobe %d)", name, status.lists,
                status.liveRows, Date().timeIntervalSince(started), status.largestList, status.nprobe))
    }
}
