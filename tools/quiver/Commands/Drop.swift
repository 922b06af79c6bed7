import ArgumentParser
import Foundation
import Query

/// `quiver drop COLLECTION`: removes a collection, its records and what it recorded (its
/// embedder and server address), so it can be built again from scratch.
struct Drop: ParsableCommand, VerboseCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drop a collection: its records and its recorded embedder. Asks nothing: there is no undo.")
    @Argument(help: "The collection to drop.") var collection: String
    @OptionGroup var storeOptions: StoreOptionsGroup
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var verbosity: VerboseOptions

    func run() throws {
        let store = try storeOptions.open(create: false)
        let count = try store.collection(collection).count()  // the store's own "not found" error
        try store.dropCollection(collection)
        if json {
            let object: [String: Any] = ["dropped": collection, "records": count]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(
                "Dropped collection \"\(TerminalText.line(collection))\" (\(count) records) from \(TerminalText.line(storeOptions.display))."
            )
        }
    }
}
