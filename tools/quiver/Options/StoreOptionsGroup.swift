import ArgumentParser
import Foundation

/// Options shared by every command that opens a store.
struct StoreOptionsGroup: ParsableArguments {
    @Option(name: .long, help: "The store directory (default: $QUIVER_STORE, else ./.quiver).")
    var store: String?

    var path: String {
        if let store { return store }
        if let env = ProcessInfo.processInfo.environment["QUIVER_STORE"], !env.isEmpty { return env }
        return ".quiver"
    }
}
