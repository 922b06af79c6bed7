import ArgumentParser
import Foundation
import Query

/// `quiver collections`: lists the store's collections.
struct Collections: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(abstract: "List the store's collections.")
    @OptionGroup var storeOptions: StoreOptionsGroup
    @OptionGroup var verbosity: VerboseOptions
    @Flag(help: "Also list the store's own reserved collections (the embedding caches, _cache.*).") var all = false

    func run() throws {
        let store = try storeOptions.open(create: false)
        // Embedding caches (reserved `_cache.*` collections) are the store's own bookkeeping.
        for info in try store.collections(includingReserved: all) {
            let count = try store.collection(info.name).count()
            let config = info.configuration.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let name = TerminalText.line(info.name)
            print("\(name)\t\(count) records\td=\(info.dimension)\t\(info.metric.rawValue)\t\(TerminalText.line(config))")
        }
    }
}
