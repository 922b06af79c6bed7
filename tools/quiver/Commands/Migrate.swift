import ArgumentParser
import Foundation
import PostgresStore
import VectorStore

/// `quiver migrate --from STORE --to STORE`: copies collections between stores of any
/// kind (a directory or a PostgreSQL URL): settings, the embedder record, ids, vectors,
/// texts and metadata.
struct Migrate: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy collections between stores: a directory or a postgres:// URL, either way.",
        discussion: """
            Copies each collection's settings (dimension, metric, the embedder it records) and \
            its records (ids, vectors, texts, metadata) in batches; exact searches of the copy \
            answer as the original does. A collection that already exists at the destination is \
            refused unless its settings match, and then records of the same id are replaced. \
            A keyword index in the source (its analyzer and fields) is made again in the copy as the \
            records arrive, so keyword and hybrid searches of the copy rank as the original's.
            """)

    @Option(help: "The store to copy from: a directory or a postgres:// URL.") var from: String
    @Option(help: "The store to copy into (created when a missing directory).") var to: String
    @Option(help: "Copy only this collection (repeatable; default: every collection but the embedding caches).")
    var collection: [String] = []
    @Option(help: "Records per transaction.") var batchSize = 1000
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var verbosity: VerboseOptions

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard from != to else { throw ValidationError("--from and --to name the same store") }
    }

    func run() throws {
        let source = try Self.open(from, create: false)
        let target = try Self.open(to, create: true)
        let names = collection.isEmpty ? try source.collections(includingReserved: false).map(\.name) : collection
        var copied: [[String: Any]] = []
        for name in names {
            let count = try copy(name, from: source, to: target)
            copied.append(["collection": name, "records": count])
            if !json {
                print(TerminalText.line("Copied \(name): \(count) records from \(source.location) to \(target.location)"))
            }
        }
        if json {
            let object: [String: Any] = ["from": source.location, "to": target.location, "collections": copied]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        }
    }

    /// Copies one collection; returns how many records.
    func copy(_ name: String, from source: any VectorDatabase, to target: any VectorDatabase) throws -> Int {
        let original = try source.collection(name)
        var settings = original.info.settings
        // The copy's keyword index is made by this build's stemmer, which the destination records.
        settings.configuration[KeywordIndexSettings.stemmerKey] = nil
        let copy = try target.openOrCreateCollection(name, settings: settings)
        // Every id (with metadata, which is small): then the records a batch at a time.
        let ids = try original.metadata(where: .and([])).keys.sorted()
        var start = 0
        while start < ids.count {
            let batch = Array(ids[start..<min(ids.count, start + batchSize)])
            try copy.upsert(try original.get(batch).compactMap { $0 })
            start += batch.count
        }
        return ids.count
    }

    static func open(_ store: String, create: Bool) throws -> any VectorDatabase {
        if PostgresURL.isPostgres(store) { return try PostgresDatabase(url: store) }
        return try Store(path: store, options: create ? StoreOptions() : .noCreate)
    }
}
