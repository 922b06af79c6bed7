import Foundation
import TestSupport
import Testing

@testable import VectorStore
@testable import quiver_fuzz_store

/// Inputs of the damaged-store fuzzer (`scripts/fuzz.sh store`) that crashed Quiver's own
/// code, kept as regression tests: each (`Fixtures/fuzz-store/NAME`, in the fuzzer's input
/// format) patches the fuzzer's pristine store, which must then open, check and search
/// with thrown `QuiverError`s only, naming the damage.
@Suite struct DamagedStoreTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz-store")

    @Test(
        arguments: [
            // A meta page's last page number so large that the size it implies overflowed.
            "meta-last-page-overflow",
            // A meta page with page size 0: liblmdb divided by it (SIGFPE).
            "meta-page-size-zero",
            // Collection counters saying more live records than an Int holds (a trapping conversion).
            "counters-live-overflow",
            // Leaf nodes whose key or value size runs past the end of the file (SIGBUS on reading it).
            "key-size-past-file",
            "value-size-past-file",
            "collection-info-past-file",
            "block-size-past-file",
        ])
    func damagedStoreGivesCleanErrors(_ name: String) throws {
        let input = [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
        let dir = TemporaryDirectory("quiver-damaged")
        defer { dir.remove() }
        let errors = StoreFuzzer.run(input, base: StoreFuzzer.pristine, in: dir.path)
        #expect(!errors.isEmpty, "the damage went unnoticed")
        for error in errors {
            #expect(error is QuiverError, "\(type(of: error)): \(error)")
        }
        #expect(errors.contains { ($0 as? QuiverError)?.code == .corrupted }, "\(errors)")
    }

    /// The pristine store (`tools/fuzz/store-base`) opens, checks healthy and searches
    /// without an error, and so does one built anew.
    @Test func pristineStoreIsHealthy() throws {
        let dir = TemporaryDirectory("quiver-damaged")
        let built = TemporaryDirectory("quiver-damaged-built")
        defer {
            dir.remove()
            built.remove()
        }
        #expect(StoreFuzzer.run([], base: StoreFuzzer.pristine, in: dir.path).isEmpty)
        #expect(try Store(path: dir.path).check().isHealthy)
        try StoreFuzzer.buildPristine(at: built.sub("store"))
        #expect(StoreFuzzer.exercise(built.sub("store")).isEmpty)
    }

    /// The checks above need the map's address, which LMDB does not give: it is read from
    /// `/proc/self/maps`, and without it the checks are off.
    @Test func mapAddressIsFound() throws {
        let dir = TemporaryDirectory("quiver-damaged")
        defer { dir.remove() }
        let store = try Store(path: dir.path)
        _ = try store.createCollection("c", dimension: 2, metric: .dot)
        let extent = try store.env.read { $0.extent }
        #expect(extent.start != 0 && extent.filled > extent.start && extent.end >= extent.filled)
    }
}
