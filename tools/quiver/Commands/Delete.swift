import ArgumentParser
import Foundation
import Query

/// `quiver delete`: deletes documents by id, or the records matching a filter.
struct Delete: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete documents (all their chunks) by id, or the records matching a metadata filter.")
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Option(help: "Collection name.") var collection = "docs"
    @Option(help: "A document id, as indexed (its path under the indexed folder; repeatable).") var doc: [String] = []
    @Option(help: "Metadata filter KEY=VALUE (repeatable; all must match).") var `where`: [String] = []
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var verbosity: VerboseOptions

    func validate() throws {
        guard doc.isEmpty != `where`.isEmpty else { throw ValidationError("give --doc ID… or --where KEY=VALUE…, not both") }
        _ = try Filters.parse(`where`)
    }

    func run() throws {
        let store = try storeOptions.open(create: false)
        let target = try store.collection(collection)
        var deleted = 0
        var missing: [String] = []
        if !doc.isEmpty {
            for id in doc {
                let n = try target.delete(where: ChunkSchema.chunks(of: id))
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
            print("deleted \(deleted) records from \(TerminalText.line(collection))")
        }
        if !missing.isEmpty {
            throw CLIError(
                "no document \(missing.map { "\"\($0)\"" }.joined(separator: ", ")) in \(collection)",
                hint: "ids are paths relative to the indexed folder, e.g. keepers/famous-keepers.txt")
        }
    }
}
