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

    /// Overwrites the first occurrence of `text`'s bytes in the store file with `replacement`
    /// (of the same length).
    static func overwrite(_ text: String, with replacement: String, in dir: TemporaryDirectory) throws {
        let path = dir.sub("data.mdb")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let pattern = Array(text.utf8)
        let with = Array(replacement.utf8)
        precondition(pattern.count == with.count)
        let at = try #require(
            bytes.indices.first { i in i + pattern.count <= bytes.count && Array(bytes[i..<(i + pattern.count)]) == pattern })
        bytes.replaceSubrange(at..<(at + with.count), with: with)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// A record whose text was overwritten in the file (the damage that `check` used to call
    /// healthy while searches returned the altered text) fails its checksum: `check` names
    /// it, reading it is refused with its collection and row, and deleting it or writing
    /// its id again still works, after which the store checks healthy.
    @Test func damagedRecordTextIsFoundAndNeverReturned() throws {
        let dir = TemporaryDirectory("quiver-record-checksum")
        defer { dir.remove() }
        let secret = "The keeper lit the lamp at dusk every evening."
        do {
            let c = try Store(path: dir.path).createCollection("docs", dimension: 4, metric: .dot)
            var records = (0..<50).map {
                Record(id: "r\($0)", vector: [Float($0), 1, 2, 3], text: "text \($0)", metadata: ["n": .int(Int64($0))])
            }
            records[20] = Record(id: "target", vector: [100, 1, 2, 3], text: secret, metadata: ["n": 20])
            try c.upsert(records)
            let report = try Store(path: dir.path).check()
            #expect(report.isHealthy && report.verifiedRecords == 50 && report.unsealedRecords == 0, "\(report)")
        }
        try Self.overwrite(secret, with: secret.replacingOccurrences(of: "dusk", with: "dawn"), in: dir)

        let store = try Store(path: dir.path)
        let report = try store.check()
        #expect(!report.isHealthy && report.verifiedRecords == 49, "\(report)")
        #expect(
            report.problems == [
                "docs: the record of id \"target\" (row 21) fails its checksum: its text or metadata is damaged; "
                    + "delete and re-index its document, or restore a backup"
            ], "\(report.problems)")

        let c = try store.collection("docs")
        for attempt in 0..<3 {
            let error = #expect(throws: StoreError.self) {
                switch attempt {
                case 0: _ = try c.search([1, 0, 0, 0], k: 1)  // the damaged record is the best hit
                case 1: _ = try c.get("target")
                default: _ = try c.metadata(where: .equals("n", 20))
                }
            }
            #expect(error?.code == .corrupted && error?.collection == "docs", "\(String(describing: error))")
            #expect(
                error?.message.contains("record row 21 of \"docs\" (id \"target\" as stored) fails its checksum") == true,
                "\(String(describing: error))")
        }
        // Ids alone are not verified (check compares them with the id table).
        var idsOnly = SearchRequest(queries: [[1, 0, 0, 0]], k: 1)
        idsOnly.fields = .none
        #expect(try c.search(idsOnly).hits[0].map(\.id) == ["target"])

        // The damaged record can be replaced, and then everything checks.
        try c.upsert([Record(id: "target", vector: [100, 1, 2, 3], text: secret, metadata: ["n": 20])])
        #expect(try c.get("target")?.text == secret)
        #expect(try c.search([1, 0, 0, 0], k: 1, filter: .equals("n", 20)).map(\.id) == ["target"])
        let healed = try store.check()
        #expect(healed.isHealthy && healed.verifiedRecords == 50, "\(healed)")
        #expect(try c.delete(ids: ["target"]) == 1)
        #expect(try store.check().isHealthy)
    }

    /// Sealed records decode to the fields written; a version 1 record (before checksums)
    /// decodes as before, and sealing it gives exactly what `encode` writes now; one
    /// flipped bit anywhere after the header fails the checksum.
    @Test func recordCodecSealsAndVerifies() throws {
        let metadata: [String: MetadataValue] = ["a": "x", "b": .int(-3), "c": .double(0.5), "d": true, "e": .strings(["p", "q"])]
        let sealed = RecordCodec.encode(id: "id-1", text: "héllo", metadata: metadata)
        #expect(sealed[0] == 2)
        let unsealed = [UInt8(1)] + sealed[RecordCodec.sealedHeader...]
        try sealed.withUnsafeBytes { b in
            #expect(RecordCodec.checksumMatches(b) == true)
            let d = try RecordCodec.decode(b, rowID: 1)
            #expect(d.id == "id-1" && d.text == "héllo" && d.metadata == metadata)
            #expect(try RecordCodec.decodeID(b, rowID: 1) == "id-1")
        }
        try unsealed.withUnsafeBytes { b in
            #expect(RecordCodec.checksumMatches(b) == nil)
            let d = try RecordCodec.decode(b, rowID: 1)
            #expect(d.id == "id-1" && d.text == "héllo" && d.metadata == metadata)
            #expect(RecordCodec.sealed(b) == sealed)
        }
        sealed.withUnsafeBytes { #expect(RecordCodec.sealed($0) == nil) }
        for i in RecordCodec.sealedHeader..<sealed.count {
            for bit in 0..<8 {
                var damaged = sealed
                damaged[i] ^= UInt8(1 << bit)
                damaged.withUnsafeBytes { b in
                    #expect(RecordCodec.checksumMatches(b) == false)
                    #expect(throws: StoreError.self) { try RecordCodec.decode(b, rowID: 7, collection: "c") }
                }
            }
        }
        // Too short for a checksum, or of an unknown version: an error, never a crash.
        for bytes: [UInt8] in [[2], [2, 0, 0], [3, 0], []] {
            _ = bytes.withUnsafeBytes { b in #expect(throws: StoreError.self) { try RecordCodec.decode(b, rowID: 7) } }
        }
    }
}
