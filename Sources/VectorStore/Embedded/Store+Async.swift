import Foundation

extension Store {
    /// Opens the store at `path` (creating it if allowed and missing) off the cooperative
    /// pool.
    ///
    /// - Throws: as `init(path:options:)`.
    public static func open(path: String, options: StoreOptions = StoreOptions()) async throws -> Store {
        try await BlockingExecutor.shared.run { try Store(path: path, options: options) }
    }

    /// Copies the store to an empty directory (see `copy(to:compact:)`), off the
    /// cooperative pool.
    public func copy(to directory: String, compact: Bool = true) async throws {
        try await run(on: readQueue) { try self.copy(to: directory, compact: compact) }
    }

    /// Size of the store's data file in bytes, read off the cooperative pool.
    public func fileSize() async throws -> Int {
        try await run(on: readQueue) { try self.fileSize() }
    }

    /// Names and settings of the collections, on the store's read queue.
    public func collections(includingReserved: Bool) async throws -> [CollectionInfo] {
        try await run(on: readQueue) { try self.collections(includingReserved: includingReserved) }
    }

    /// Creates a collection, on the store's writer queue.
    public func createCollection(_ name: String, settings: CollectionSettings) async throws -> LMDBCollection {
        try await run(on: writeQueue) { try self.createCollection(name, settings: settings) }
    }

    /// Opens an existing collection, on the store's read queue.
    public func collection(_ name: String) async throws -> LMDBCollection {
        try await run(on: readQueue) { try self.collection(name) }
    }

    /// Opens the collection if it exists (checking its settings), creates it otherwise,
    /// on the store's writer queue.
    public func openOrCreateCollection(_ name: String, settings: CollectionSettings) async throws -> LMDBCollection {
        try await run(on: writeQueue) { try self.openOrCreateCollection(name, settings: settings) }
    }

    /// Drops a collection, on the store's writer queue.
    @discardableResult
    public func dropCollection(_ name: String) async throws -> Bool {
        try await run(on: writeQueue) { try self.dropCollection(name) }
    }

    /// Sets or removes configuration keys of a collection, on the store's writer queue.
    @discardableResult
    public func updateConfiguration(of name: String, _ changes: [String: String?]) async throws -> CollectionInfo {
        try await run(on: writeQueue) { try self.updateConfiguration(of: name, changes) }
    }

    /// Runs blocking store work on one of the store's own executors, never on the
    /// cooperative pool; checks for cancellation before it starts.
    func run<T: Sendable>(on executor: BlockingExecutor, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await executor.run(body)
    }
}
