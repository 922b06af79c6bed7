import ArgumentParser
import VectorStore

struct Collections: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the store's collections.")
    @OptionGroup var storeOptions: StoreOptionsGroup

    func run() throws {
        let store = try Store(path: storeOptions.path, options: noCreate)
        // Embedding caches (`_cache.*`) are the store's own bookkeeping.
        for info in try store.collections() where !info.name.hasPrefix("_cache.") {
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
