import Foundation
import Ingest
import Synthetic
import TestSupport
import Testing

/// The office parsers run in-process (libarchive and libxml2 are not poppler): this is the
/// evidence that damaged input costs its file and nothing else. Seeded mutations of every
/// office fixture — of the ZIP bytes, and of the XML inside a well-formed ZIP — each
/// parse ends with documents or with an issue naming the file, never a crash or a hang.
@Suite struct OfficeMutationTests {
    static let fixtures = ["handbook.docx", "fog.pptx", "register.xlsx", "relief.odt", "tales.epub"]

    static func parse(_ bytes: [UInt8], _ name: String) throws -> DocumentLoader.Result {
        let ext = (name as NSString).pathExtension
        let parser = try #require(ParserRegistry.standard.parser(fileExtension: ext, prefix: []))
        do {
            return try parser.parse(ParseInput(bytes: bytes, id: name, fileExtension: ext))
        } catch let issue as LoadIssue {
            return DocumentLoader.Result(issues: [issue])
        }
    }

    static func mutate(_ bytes: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var out = bytes
        guard !out.isEmpty else { return out }
        switch rng.next() % 4 {
        case 0:  // flip bytes
            for _ in 0..<(1 + Int(rng.next() % 8)) { out[Int(rng.next() % UInt64(out.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
        case 1:  // cut
            out = Array(out.prefix(Int(rng.next() % UInt64(out.count))))
        case 2:  // repeat a slice
            let a = Int(rng.next() % UInt64(out.count))
            let b = min(out.count, a + Int(rng.next() % 512))
            out.insert(contentsOf: out[a..<b], at: a)
        default:  // special bytes
            let specials: [[UInt8]] = [Array("<".utf8), Array("&".utf8), Array("<!DOCTYPE x>".utf8), [0], [0xFF, 0xFE], Array("]]>".utf8)]
            out.insert(contentsOf: specials[Int(rng.next() % UInt64(specials.count))], at: Int(rng.next() % UInt64(out.count)))
        }
        return out
    }

    @Test(arguments: fixtures)
    func mutatedContainersFailAlone(_ name: String) throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(OfficeFixtures.folder)/\(name)")))
        var rng = SeededGenerator(seed: 17)
        for _ in 0..<150 {
            let result = try Self.parse(Self.mutate(original, &rng), name)
            #expect(!result.documents.isEmpty || result.issues.contains { $0.path == name })
        }
    }

    @Test(arguments: fixtures)
    func mutatedXMLInsideAGoodContainerFailsAlone(_ name: String) throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(OfficeFixtures.folder)/\(name)")))
        let zip = try ZipArchive(bytes: original) { _ in true }
        let parts = zip.names.compactMap { n in zip.entries[n].map { (path: n, bytes: $0) } }
        var rng = SeededGenerator(seed: 23)
        for _ in 0..<150 {
            let target = Int(rng.next() % UInt64(parts.count))
            var mutated = parts
            mutated[target].bytes = Self.mutate(parts[target].bytes, &rng)
            let result = try Self.parse(try ZipArchive.make(mutated), name)
            #expect(!result.documents.isEmpty || result.issues.contains { $0.path == name })
        }
    }
}
