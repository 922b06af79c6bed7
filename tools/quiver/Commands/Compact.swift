import ArgumentParser
import Foundation
import Query

/// `quiver compact`: reclaims deleted records' space in every collection.
struct Compact: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(abstract: "Reclaim deleted records' space in every collection.")
    @OptionGroup var storeOptions: StoreOptionsGroup
    @OptionGroup var verbosity: VerboseOptions

    func run() throws {
        let store = try Store(path: storeOptions.path, options: .noCreate)
        // The embedding caches too: they are rewritten as often as the collections.
        for info in try store.collections(includingReserved: true) {
            let blocks = try store.collection(info.name).compact()
            print("\(TerminalText.line(info.name)): \(blocks) blocks")
        }
    }
}
