import CQuiverKernels
import Foundation
import TestSupport
import Testing

@testable import VectorStore

/// Vector blocks are sealed with an XXH64 checksum: overwritten vector bytes, which used
/// to leave `check` saying ok while search dropped or reordered hits, are found.
@Suite struct ChecksumTests {
    /// The checksum is XXH64 with seed 0 (reference values from the `xxhash` package on
    /// PyPI: `xxhash.xxh64(data, seed=0)`).
    @Test func checksumIsXXH64() {
        func xxh(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { quiver_xxh64($0.baseAddress, $0.count) } }
        #expect(xxh([]) == 0xEF46_DB37_51D8_E999)
        #expect(xxh(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(xxh(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        let long = Array((0..<3).flatMap { _ in (0..<256).map { UInt8($0) } }) + Array("quiver".utf8)
        #expect(xxh(long) == 0x4B90_64B9_4B16_7781)
    }

    /// A store whose records hold a vector component no other record has, so its bytes can
    /// be found in the file.
    static func storeWithMarker(_ dir: TemporaryDirectory) throws -> Float {
        let marker: Float = 1234.5678
        let store = try Store(path: dir.path)
        let c = try store.createCollection("docs", dimension: 4, metric: .dot)
        var records = (0..<200).map { Record(id: "r\($0)", vector: [Float($0 % 7), 1, 2, 3], text: "t\($0)") }
        records[57] = Record(id: "marked", vector: [marker, 1, 2, 3], text: "marked")
        try c.upsert(records)
        let report = try store.check()
        #expect(report.isHealthy && report.verifiedBlocks == 1 && report.unsealedBlocks == 0, "\(report)")
        return marker
    }

    /// Overwrites the first occurrence of `value`'s bytes in the store file.
    static func overwrite(_ value: Float, with replacement: Float, in dir: TemporaryDirectory) throws {
        let path = dir.sub("data.mdb")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let pattern = withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
        let at = try #require(bytes.indices.first { i in i + 4 <= bytes.count && Array(bytes[i..<(i + 4)]) == pattern })
        withUnsafeBytes(of: replacement.bitPattern.littleEndian) { for j in 0..<4 { bytes[at + j] = $0[j] } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func damagedVectorsAreFoundByCheck() throws {
        let dir = TemporaryDirectory("quiver-checksum")
        defer { dir.remove() }
        let marker = try Self.storeWithMarker(dir)
        try Self.overwrite(marker, with: -5, in: dir)

        let store = try Store(path: dir.path)
        let report = try store.check()
        #expect(!report.isHealthy)
        let problem = try #require(report.problems.first)
        #expect(problem.hasPrefix("docs: vector block") && problem.contains("fails its checksum"), "\(problem)")
        #expect(problem.contains("200 rows") && problem.contains("\"r0\""), "\(problem)")

        // Without verification a search still runs (on the damaged values).
        #expect(try store.collection("docs").search([1, 0, 0, 0], k: 1).count == 1)
    }

    /// A store opened with `verifyChecksums` refuses to search a damaged block and names it.
    @Test func verificationOnReadNamesTheBlock() throws {
        let dir = TemporaryDirectory("quiver-checksum-read")
        defer { dir.remove() }
        let marker = try Self.storeWithMarker(dir)
        try Self.overwrite(marker, with: -5, in: dir)
        var options = StoreOptions()
        options.verifyChecksums = true
        let c = try Store(path: dir.path, options: options).collection("docs")
        do {
            _ = try c.search([1, 0, 0, 0], k: 1)
            Issue.record("a damaged block was searched without an error")
        } catch let error as StoreError {
            #expect(error.code == .corrupted && error.collection == "docs", "\(error)")
            #expect(error.message.contains("fails its checksum"))
        }
    }

    /// Undamaged blocks pass verification on read, and searches agree with and without it.
    @Test func verificationOnReadPassesHealthyBlocks() throws {
        let dir = TemporaryDirectory("quiver-checksum-ok")
        defer { dir.remove() }
        _ = try Self.storeWithMarker(dir)
        var options = StoreOptions()
        options.verifyChecksums = true
        let c = try Store(path: dir.path, options: options).collection("docs")
        let plain = try Store(path: dir.path).collection("docs")
        let hits = try c.search([1, 0, 0, 0], k: 3).map(\.id)
        #expect(hits == ["marked", "r104", "r111"])  // then the ties at 6, by id
        #expect(hits == (try plain.search([1, 0, 0, 0], k: 3).map(\.id)))
    }
}
