import Foundation
import FuzzDriver
import VectorStore

/// libFuzzer target for opening damaged stores.
///
/// A small valid store is built once; each input is a list of patches applied to a copy
/// of its `data.mdb`: 3 bytes of big-endian offset (taken modulo the file's size), 1 byte
/// of length `n` (at most 32), then `n` bytes written there. The damaged copy is opened,
/// listed, checked, counted, read and searched; every failure must be a thrown
/// `QuiverError`. liblmdb trusts its file and aborts or faults on some damaged pages
/// (`mdb.c: Assertion 'IS_LEAF(mp)' failed`): those crashes are LMDB's, and
/// `scripts/fuzz.sh` tells them apart from Quiver's by the crashing frame.
enum StoreFuzzer {
    static let dimension = 8

    /// The store every input damages: two collections, a few blocks, tombstones, metadata.
    /// Read from `tools/fuzz/store-base/data.mdb` (written by `--write-pristine` with
    /// `SWIFT_DETERMINISTIC_HASHING=1`), so that an input damages the same bytes in every
    /// process and release: a store built anew has its pages in an order that depends on
    /// the process's hash seed.
    static let pristine: [UInt8] = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../store-base/data.mdb").standardizedFileURL
        guard let bytes = FileManager.default.contents(atPath: file.path) else { fatalError("cannot read \(file.path)") }
        return [UInt8](bytes)
    }()

    static var options: StoreOptions {
        var options = StoreOptions()
        options.durable = false
        options.initialMapSize = 16 << 20
        options.searchThreads = 1
        return options
    }

    /// Builds the pristine store in `dir`, which must not hold one.
    static func buildPristine(at dir: String) throws {
        let store = try Store(path: dir, options: options)
        let docs = try store.openOrCreateCollection("docs", dimension: dimension, metric: .cosine)
        for batch in 0..<3 {
            try docs.upsert(
                (0..<20).map { i in
                    let n = batch * 20 + i
                    return Record(
                        id: "doc\(n).md#0", vector: (0..<dimension).map { Float(($0 * 7 + n * 3) % 11) - 5 },
                        text: "chunk \(n) of the pristine store",
                        metadata: ["lang": n % 2 == 0 ? "en" : "fr", "year": .int(Int64(2000 + n))])
                })
        }
        _ = try docs.delete(ids: ["doc3.md#0", "doc25.md#0", "doc41.md#0"])
        let l2 = try store.openOrCreateCollection("l2", dimension: dimension, metric: .l2)
        try l2.upsert((0..<10).map { n in Record(id: "v\(n)", vector: (0..<dimension).map { Float($0 + n) }) })
    }

    /// One scratch store folder per process: libFuzzer runs inputs one after another.
    static let directory: String = {
        let dir = NSTemporaryDirectory() + "quiver-fuzz-store-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// `base` with the patches of `input` applied.
    static func damaged(_ input: [UInt8], base: [UInt8]) -> [UInt8] {
        var bytes = base
        var i = 0
        while i + 4 <= input.count, !bytes.isEmpty {
            let offset = (Int(input[i]) << 16 | Int(input[i + 1]) << 8 | Int(input[i + 2])) % bytes.count
            let length = min(Int(input[i + 3]) % 33, input.count - i - 4, bytes.count - offset)
            bytes.replaceSubrange(offset..<(offset + length), with: input[(i + 4)..<(i + 4 + length)])
            i += 4 + length
        }
        return bytes
    }

    static func run(_ input: [UInt8]) {
        for error in run(input, base: pristine, in: directory) where !(error is QuiverError) {
            fatalError("not a QuiverError: \(type(of: error)): \(error)")
        }
    }

    /// Writes `base` damaged by `input` as the store in `directory`, opens and reads it
    /// (`exercise`), and returns the errors thrown.
    static func run(_ input: [UInt8], base: [UInt8], in directory: String) -> [any Error] {
        try? FileManager.default.removeItem(atPath: directory + "/lock.mdb")
        guard FileManager.default.createFile(atPath: directory + "/data.mdb", contents: Data(damaged(input, base: base))) else {
            fatalError("cannot write \(directory)/data.mdb")
        }
        return exercise(directory)
    }

    /// Set `QUIVER_FUZZ_VERBOSE=1` to see the errors that damaged inputs give.
    static let verbose = ProcessInfo.processInfo.environment["QUIVER_FUZZ_VERBOSE"] == "1"

    /// Opens the store at `path` and reads everything a user could: lists, checks, counts,
    /// gets and searches (with and without filters) every collection that check did not
    /// find damaged pages in. Returns the errors
    /// thrown (and a check's problems, as one error), each step going on after the one
    /// before failed where it can.
    static func exercise(_ path: String) -> [any Error] {
        var errors: [any Error] = []
        func attempt(_ body: () throws -> Void) {
            do {
                try body()
            } catch {
                if verbose { print("quiver-fuzz-store: \(error)") }
                errors.append(error)
            }
        }
        attempt {
            // As `quiver check` opens a store: LMDB's own trees are walked before it reads
            // them. A crash inside liblmdb is then a gap in the page walk.
            var checked = options
            checked.checkPagesOnOpen = true
            let store = try Store(path: path, options: checked)
            _ = try store.formatVersion()
            var damaged: Set<String> = []
            attempt {
                // Damage that check reports (rather than throws) counts as found.
                let report = try store.check()
                damaged = report.damagedCollections
                if !report.isHealthy { throw StoreError(.corrupted, "check: \(report)", path: path) }
            }
            // Collections whose pages check found damaged are not read (LMDB trusts pages).
            for info in try store.collections(includingReserved: true) where !damaged.contains(info.name) {
                attempt {
                    let c = try store.collection(info.name)
                    _ = try c.count()
                    _ = try c.get(["doc1.md#0", "doc25.md#0", "v3"])
                    let query = (0..<info.dimension).map { Float($0 % 3) - 1 }
                    _ = try c.search(query, k: 5)
                    _ = try c.search(query, k: 3, filter: .equals("lang", "en"))
                    _ = try c.search(query, k: 3, filter: .range("year", lower: 2040))
                }
            }
        }
        return errors
    }
}

/// The fuzzer's driver when built with `-DQUIVER_LIBFUZZER`, else a replay of the inputs
/// named on the command line; `--write-pristine DIR` writes the undamaged store there (to
/// look at it with `mdb_stat`).
@main
enum FuzzStoreMain {
    static func main() throws {
        let arguments = CommandLine.arguments
        if arguments.count == 3, arguments[1] == "--write-pristine" {
            try StoreFuzzer.buildPristine(at: arguments[2])
            return
        }
        FuzzDriver.main(name: "quiver-fuzz-store") { StoreFuzzer.run($0) }
    }
}
