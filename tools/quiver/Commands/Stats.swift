import ArgumentParser
import Foundation
import Query

/// `quiver stats`: the store's collections, their size and their embedder.
struct Stats: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(abstract: "Show the store's collections, their size and their embedder.")
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "Only this collection.") var collection: String?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var verbosity: VerboseOptions

    func run() throws {
        let store = try storeOptions.open(create: false)
        let infos = try store.collections(includingReserved: collection != nil).filter { collection == nil || $0.name == collection }
        if let collection, infos.isEmpty { _ = try store.collection(collection) }  // the store's own "not found" error
        // A PostgreSQL database has no file of its own here (0 bytes).
        let file = (storeOptions.path as NSString).appendingPathComponent("data.mdb")
        let bytes = storeOptions.isPostgres ? 0 : ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0
        let cached = try store.collections(includingReserved: true).filter { $0.name.hasPrefix(ReservedNames.embeddingCachePrefix) }.reduce(
            0
        ) {
            $0 + (try store.collection($1.name).count())
        }
        var rows: [[String: Any]] = []
        for info in infos {
            let c = try store.collection(info.name)
            rows.append([
                "name": info.name, "records": try c.count(), "documents": try c.distinctStringValueCount(of: ChunkSchema.Key.document),
                "dimension": info.dimension,
                "metric": info.metric.rawValue, "encoding": info.encoding.rawValue,
                "embedder": info.configuration[Store.embedderKey] ?? NSNull(),
                "keyword_analyzer": info.keywordAnalyzer?.identifier ?? NSNull(),
                "ivf_lists": info.configuration[IVFSettings.listsKey].flatMap { Int($0) } ?? NSNull(),
                "ivf_nprobe": info.configuration[IVFSettings.nprobeKey].flatMap { Int($0) } ?? NSNull(),
            ])
        }
        if json {
            let object: [String: Any] = [
                "store": storeOptions.display, "file_bytes": bytes, "cached_vectors": cached, "collections": rows,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print(
            TerminalText.line(
                String(format: "store %@: %.1f MB on disk, %d cached embeddings", storeOptions.display, Double(bytes) / 1e6, cached)))
        for r in rows {
            print(
                TerminalText.line(
                    "  \(r["name"]!): \(r["records"]!) chunks of \(r["documents"]!) documents, d=\(r["dimension"]!) \(r["metric"]!) \(r["encoding"]!), "
                        + "embedder \(r["embedder"] as? String ?? "unrecorded"), "
                        + ((r["keyword_analyzer"] as? String).map { "keyword index (\($0))" } ?? "no keyword index")
                        + ((r["ivf_lists"] as? Int).map { ", IVF index (\($0) lists, nprobe \(r["ivf_nprobe"] as? Int ?? 0))" } ?? "")))
        }
    }
}
