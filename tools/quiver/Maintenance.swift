import ArgumentParser
import Foundation
import Query

struct Collections: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the store's collections.")
    @OptionGroup var storeOptions: StoreOptionsGroup

    func run() throws {
        let store = try Store(path: storeOptions.path, options: noCreate)
        // Embedding caches (reserved `_cache.*` collections) are the store's own bookkeeping.
        for info in try store.collections() {
            let count = try store.collection(info.name).count()
            let config = info.configuration.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            print("\(info.name)\t\(count) records\td=\(info.dimension)\t\(info.metric.rawValue)\t\(config)")
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check the store's integrity.")
    @OptionGroup var storeOptions: StoreOptionsGroup

    func run() throws {
        let report = try Store(path: storeOptions.path, options: noCreate).check()
        print(report)
        if !report.isHealthy { throw ExitCode.failure }
    }
}

struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reclaim deleted records' space in every collection.")
    @OptionGroup var storeOptions: StoreOptionsGroup

    func run() throws {
        let store = try Store(path: storeOptions.path, options: noCreate)
        for info in try store.collections() {
            let blocks = try store.collection(info.name).compact()
            print("\(info.name): \(blocks) blocks")
        }
    }
}

let noCreate: StoreOptions = {
    var o = StoreOptions()
    o.create = false
    return o
}()

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the store's collections, their size and their embedder.")
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "Only this collection.") var collection: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let store = try Store(path: storeOptions.path, options: noCreate)
        let infos = try store.collections(includingReserved: collection != nil).filter { collection == nil || $0.name == collection }
        if let collection, infos.isEmpty { _ = try store.collection(collection) }  // the store's own "not found" error
        let file = (storeOptions.path as NSString).appendingPathComponent("data.mdb")
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0
        let cached = try store.collections(includingReserved: true).filter { $0.name.hasPrefix(ReservedNames.embeddingCachePrefix) }.reduce(
            0
        ) {
            $0 + (try store.collection($1.name).count())
        }
        var rows: [[String: Any]] = []
        for info in infos {
            let c = try store.collection(info.name)
            rows.append([
                "name": info.name, "records": try c.count(), "documents": try c.distinctStringValueCount(of: "doc"),
                "dimension": info.dimension,
                "metric": info.metric.rawValue, "embedder": info.configuration[Store.embedderKey] ?? NSNull(),
            ])
        }
        if json {
            let object: [String: Any] = [
                "store": storeOptions.path, "file_bytes": bytes, "cached_vectors": cached, "collections": rows,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print(String(format: "store %@: %.1f MB on disk, %d cached embeddings", storeOptions.path, Double(bytes) / 1e6, cached))
        for r in rows {
            print(
                "  \(r["name"]!): \(r["records"]!) chunks of \(r["documents"]!) documents, d=\(r["dimension"]!) \(r["metric"]!), "
                    + "embedder \(r["embedder"] as? String ?? "unrecorded")")
        }
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete documents (all their chunks) by id, or the records matching a metadata filter.")
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "Collection name.") var collection = "docs"
    @Option(help: "A document id, as indexed (its path under the indexed folder; repeatable).") var doc: [String] = []
    @Option(help: "Metadata filter KEY=VALUE (repeatable; all must match).") var `where`: [String] = []
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard doc.isEmpty != `where`.isEmpty else { throw ValidationError("give --doc ID… or --where KEY=VALUE…, not both") }
        _ = try Filters.parse(`where`)
    }

    func run() throws {
        let store = try Store(path: storeOptions.path, options: noCreate)
        let target = try store.collection(collection)
        var deleted = 0
        var missing: [String] = []
        if !doc.isEmpty {
            for id in doc {
                let n = try target.delete(where: .equals("doc", .string(id)))
                if n == 0 { missing.append(id) }
                deleted += n
            }
        } else if let filter = try Filters.parse(`where`) {
            deleted = try target.delete(where: filter)
        }
        if json {
            let object: [String: Any] = ["deleted_records": deleted, "missing_documents": missing]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print("deleted \(deleted) records from \(collection)")
        }
        if !missing.isEmpty {
            throw CLIError(
                "no document \(missing.map { "\"\($0)\"" }.joined(separator: ", ")) in \(collection)",
                hint: "ids are paths relative to the indexed folder, e.g. keepers/famous-keepers.txt")
        }
    }
}
