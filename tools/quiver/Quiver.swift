import ArgumentParser

@main
struct Quiver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver",
        abstract: "Quiver: an embedded vector store with integrated ingestion.",
        subcommands: [Index.self, Search.self, Embed.self, Demo.self, Collections.self, Check.self, Compact.self])

    /// Exit codes: 0 success, 1 failure, 2 usage error, 3 some documents failed.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

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

import Foundation
