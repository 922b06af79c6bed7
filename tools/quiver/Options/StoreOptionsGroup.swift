import ArgumentParser
import Foundation
import PostgresStore
import VectorStore

/// Options shared by every command that opens a store.
struct StoreOptionsGroup: ParsableArguments {
    @Option(
        name: .long,
        help: "The store: a directory, or a PostgreSQL URL postgres://USER@HOST/DB (default: $QUIVER_STORE, else ./.quiver).")
    var store: String?

    /// The store as given: a directory or a `postgres://` URL (which may hold a password:
    /// print `display` instead).
    var path: String {
        if let store { return store }
        if let env = ProcessInfo.processInfo.environment["QUIVER_STORE"], !env.isEmpty { return env }
        return ".quiver"
    }

    /// Whether the store is a PostgreSQL database.
    var isPostgres: Bool { PostgresURL.isPostgres(path) }

    /// The store for messages: the directory, or the URL without its password.
    var display: String { isPostgres ? PostgresURL.redacted(path) : path }

    /// Opens the store: the embedded one in a directory (created when `create` and missing),
    /// or the PostgreSQL database at a `postgres://` URL (password from the URL,
    /// `PGPASSWORD` or `~/.pgpass`).
    func open(create: Bool) throws -> any VectorDatabase {
        if isPostgres { return try PostgresDatabase(url: path) }
        return try Store(path: path, options: create ? StoreOptions() : .noCreate)
    }

    /// Refuses a PostgreSQL URL, for the commands that work on an embedded store's files.
    func requireEmbedded(_ command: String) throws {
        if isPostgres {
            throw CLIError(
                "`quiver \(command)` works on an embedded store directory; \(display) is a PostgreSQL database",
                hint: "use PostgreSQL's own tools (pg_dump, VACUUM, REINDEX) there, or give --store DIR")
        }
    }
}
